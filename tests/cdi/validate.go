// cdi-validate: loads every CDI spec in a directory with the reference CDI library (Debian's
// golang-github-container-orchestrated-devices-container-device-interface-dev, the code
// podman and CRI-O use), with its JSON schema as the spec validator, and prints what the
// library made of them as JSON: the errors per file, the specs, and each qualified device
// name with the device nodes and environment a container would get (device edits, then the
// spec's). Exit 1 if any spec has an error.
//
// With -inject it also injects every device, one at a time, into an empty OCI runtime spec
// as podman and CRI-O do before creating a container: the library then stats each host
// device node (it must exist, as a character device) and the report shows the device
// entries (path, type, major, minor) and environment the container would get.
//
//	cdi-validate [-inject] DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	oci "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/container-orchestrated-devices/container-device-interface/pkg/cdi"
	"github.com/container-orchestrated-devices/container-device-interface/pkg/cdi/validate"
	"github.com/container-orchestrated-devices/container-device-interface/schema"
)

type node struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
}

type injected struct {
	Devices []node   `json:"devices"`
	Env     []string `json:"env"`
	Error   string   `json:"error,omitempty"`
}

type device struct {
	Spec     string    `json:"spec"`
	Nodes    []string  `json:"nodes"`
	Env      []string  `json:"env"`
	Injected *injected `json:"injected,omitempty"`
}

type report struct {
	Errors  map[string][]string `json:"errors"`
	Specs   map[string]string   `json:"specs"`
	Devices map[string]device   `json:"devices"`
}

func main() {
	inject := flag.Bool("inject", false, "inject each device into an OCI spec")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: cdi-validate [-inject] DIR")
		os.Exit(2)
	}
	cdi.SetSpecValidator(validate.WithSchema(schema.BuiltinSchema()))
	cache, err := cdi.NewCache(cdi.WithSpecDirs(flag.Arg(0)), cdi.WithAutoRefresh(false))
	if err != nil && cache == nil {
		fmt.Fprintln(os.Stderr, "cdi-validate:", err)
		os.Exit(1)
	}
	r := report{Errors: map[string][]string{}, Specs: map[string]string{}, Devices: map[string]device{}}
	for path, errs := range cache.GetErrors() {
		for _, e := range errs {
			r.Errors[path] = append(r.Errors[path], e.Error())
		}
	}
	for _, vendor := range cache.ListVendors() {
		for _, spec := range cache.GetVendorSpecs(vendor) {
			r.Specs[spec.GetPath()] = spec.Kind
		}
	}
	names := cache.ListDevices()
	sort.Strings(names)
	for _, name := range names {
		d := cache.GetDevice(name)
		spec := d.GetSpec()
		out := device{Spec: spec.GetPath(), Nodes: []string{}, Env: []string{}}
		for _, n := range d.ContainerEdits.DeviceNodes {
			out.Nodes = append(out.Nodes, n.Path)
		}
		out.Env = append(out.Env, d.ContainerEdits.Env...)
		for _, n := range spec.ContainerEdits.DeviceNodes {
			out.Nodes = append(out.Nodes, n.Path)
		}
		out.Env = append(out.Env, spec.ContainerEdits.Env...)
		if *inject {
			out.Injected = injectOne(cache, name)
			if out.Injected.Error != "" {
				r.Errors[name] = append(r.Errors[name], out.Injected.Error)
			}
		}
		r.Devices[name] = out
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "cdi-validate:", err)
		os.Exit(1)
	}
	if len(r.Errors) > 0 {
		os.Exit(1)
	}
}

// injectOne applies one device's edits to an empty OCI spec, as a runtime does.
func injectOne(cache *cdi.Cache, name string) *injected {
	spec := &oci.Spec{Process: &oci.Process{}, Linux: &oci.Linux{}}
	res := &injected{Devices: []node{}, Env: []string{}}
	if _, err := cache.InjectDevices(spec, name); err != nil {
		res.Error = err.Error()
		return res
	}
	for _, d := range spec.Linux.Devices {
		res.Devices = append(res.Devices, node{d.Path, d.Type, d.Major, d.Minor})
	}
	res.Env = append(res.Env, spec.Process.Env...)
	return res
}
