"""A template engine: a Jinja2 page with a macro, loops and filters rendering a 1,500-row table,
compiled once and rendered 8 times."""
import jinja2

TEMPLATE = """
{% macro cell(v) %}<td class="{{ 'odd' if v % 2 else 'even' }}">{{ v | string | upper }}</td>{% endmacro %}
<html><head><title>{{ title | e }}</title></head><body>
<h1>{{ title }}</h1>
<table>
{% for row in rows %}<tr id="r{{ loop.index }}">{% for v in row.cells %}{{ cell(v) }}{% endfor %}
<td>{{ row.name | title }}</td><td>{{ row.tags | join(", ") }}</td></tr>
{% endfor %}
</table>
<p>{{ rows | length }} rows, total {{ rows | sum(attribute="total") }}</p>
</body></html>
"""

env = jinja2.Environment(autoescape=True)
template = env.from_string(TEMPLATE)
rows = [{"name": "row %d" % i, "cells": [i, i * 2, i * 3, i % 17],
         "tags": ["a%d" % (i % 3), "b%d" % (i % 5)], "total": i * 6} for i in range(1500)]

# Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
# start-up is replayed here); without the recorder nothing is there and nothing happens.
_marker = __import__("sys").modules.get("gclab_marker")
if _marker is not None:
    _marker.startup()
for _ in range(8):
    html = template.render(title="Report <1>", rows=rows)
print("jinja2_render", len(html))
