#!/usr/bin/env python3
"""Renders chat templates with Python's jinja2 the way Hugging Face transformers does (the oracle for
hearth-llm's own rendering; needs the `jinja2` PyPI package).

    reference.py REQUESTS.json

REQUESTS.json is a list of {"template": FILE, "now": ISO-8601 time, "context": {...}}, FILE relative to this
directory. Prints a JSON list with one rendering per request, or {"error": "..."} where rendering failed.

The environment copies transformers' `_compile_jinja_template`: an immutable sandbox with trim_blocks,
lstrip_blocks and the loop controls extension; `tojson` is `json.dumps` with ensure_ascii=False and keys in
insertion order; `raise_exception` and `strftime_now` are globals.
"""

import json
import sys
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def render(template_file, now, context):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: now.strftime(fmt)
    source = (Path(__file__).resolve().parent / template_file).read_text(encoding="utf-8")
    return env.from_string(source).render(**context)


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    requests = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    out = []
    for r in requests:
        try:
            out.append(render(r["template"], datetime.fromisoformat(r["now"]), r["context"]))
        except jinja2.exceptions.TemplateError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv)
