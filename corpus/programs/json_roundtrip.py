"""A large JSON round trip: a nested document of about 2 MB dumped and loaded 4 times."""
import json

doc = {
    "users": [
        {"id": i, "name": "user%d" % i, "email": "user%d@example.org" % i,
         "tags": ["t%d" % (i % 7), "t%d" % (i % 11)], "score": i * 0.25,
         "address": {"street": "%d Main St" % i, "zip": "%05d" % (i * 7 % 100000)},
         "friends": list(range(i % 5))}
        for i in range(8000)
    ]
}
# Start-up is over: a recording under `gclab record` marks this point (gc.freeze() after
# start-up is replayed here); without the recorder nothing is there and nothing happens.
_marker = __import__("sys").modules.get("gclab_marker")
if _marker is not None:
    _marker.startup()
for _ in range(4):
    text = json.dumps(doc)
    doc = json.loads(text)
print("json_roundtrip", len(text))
