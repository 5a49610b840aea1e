#!/usr/bin/python3
# The JSON contract of iovctl (docs/json.md): every --json document names its schema
# ("schema": "iovd.NAME/1") and is valid against docs/schema/NAME.json, checked with
# python3-jsonschema (Debian's package; /usr/bin/python3 on purpose).
#
#   tests/golden/schema.py --goldens      every schema file is a valid JSON Schema, and every
#                                         --json golden (tests/golden/expected/*, the plan
#                                         goldens) validates against the schema it names
#   tests/golden/schema.py FILE...        each FILE: one JSON document, or JSON Lines
#
# Ends with "N documents valid, M failed"; exit 1 on any failure.
import glob
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("schema.py: python3-jsonschema is missing (apt-get install python3-jsonschema; see setup.sh)")

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMAS = os.path.join(TOP, "docs/schema")
failed = 0
valid = 0
cache = {}


def fail(msg):
    global failed
    failed += 1
    print("FAIL: " + msg)


def validator(name):
    if name not in cache:
        path = os.path.join(SCHEMAS, name + ".json")
        if not os.path.exists(path):
            cache[name] = None
        else:
            s = json.load(open(path))
            cls = jsonschema.validators.validator_for(s)
            cls.check_schema(s)
            cache[name] = cls(s)
    return cache[name]


def check_doc(doc, where):
    global valid
    sch = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(sch, str) or not sch.startswith("iovd.") or not sch.endswith("/1"):
        fail("%s: no \"schema\": \"iovd.NAME/1\" (a %s)" % (where, type(doc).__name__))
        return
    v = validator(sch[len("iovd."):-len("/1")])
    if v is None:
        fail("%s: schema %s has no file under docs/schema" % (where, sch))
        return
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    for e in errs[:3]:
        fail("%s: %s at %s: %s" % (where, sch, "/".join(str(p) for p in e.path) or "(top)",
                                    e.message[:300]))
    if not errs:
        valid += 1


def check_file(path):
    text = open(path).read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        try:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as e:
            fail("%s: not JSON nor JSON Lines: %s" % (path, e))
            return
    if not docs:
        fail("%s: empty" % path)
    for i, d in enumerate(docs):
        check_doc(d, path if len(docs) == 1 else "%s line %d" % (path, i + 1))


def goldens():
    for s in sorted(glob.glob(os.path.join(SCHEMAS, "*.json"))):
        try:
            validator(os.path.basename(s)[:-5])
        except (ValueError, jsonschema.exceptions.SchemaError) as e:
            fail("%s: not a valid JSON Schema: %s" % (s, str(e)[:300]))
    exp = os.path.join(TOP, "tests/golden/expected")
    for fx in sorted(os.listdir(exp)):
        cmds = open(os.path.join(exp, fx, "cmds")).read().split("\n")
        for i, c in enumerate(cmds):
            if "--json" in c.split():
                check_file(os.path.join(exp, fx, "%02d.out" % (i + 1)))
    for p in sorted(glob.glob(os.path.join(TOP, "tests/golden/plans/*.json"))):
        check_file(p)


if sys.argv[1:] == ["--goldens"]:
    goldens()
elif sys.argv[1:] and not sys.argv[1].startswith("-"):
    for f in sys.argv[1:]:
        check_file(f)
else:
    sys.exit("usage: %s --goldens | FILE..." % sys.argv[0])
print("schema: %d documents valid, %d failed" % (valid, failed))
sys.exit(1 if failed else 0)
