// cdi-validate: loads every CDI spec in a directory with the reference CDI library (Debian's
// golang-github-container-orchestrated-devices-container-device-interface-dev, the code
// podman and CRI-O use), with its JSON schema as the spec validator, and prints what the
// library made of them as JSON: the errors per file, the specs, and each qualified device
// name with the device nodes and environment a container would get (device edits, then the
// spec's). Exit 1 if any spec has an error.
//
//	cdi-validate DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/container-orchestrated-devices/container-device-interface/pkg/cdi"
	"github.com/container-orchestrated-devices/container-device-interface/pkg/cdi/validate"
	"github.com/container-orchestrated-devices/container-device-interface/schema"
)

type device struct {
	Spec  string   `json:"spec"`
	Nodes []string `json:"nodes"`
	Env   []string `json:"env"`
}

type report struct {
	Errors  map[string][]string `json:"errors"`
	Specs   map[string]string   `json:"specs"`
	Devices map[string]device   `json:"devices"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cdi-validate DIR")
		os.Exit(2)
	}
	cdi.SetSpecValidator(validate.WithSchema(schema.BuiltinSchema()))
	cache, err := cdi.NewCache(cdi.WithSpecDirs(os.Args[1]), cdi.WithAutoRefresh(false))
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
