"""`python3 -m taskwire_worker.health [FILE]`: exit 0 when the worker's health
file (TASKWIRE_HEALTH_FILE) is fresh and says MQTT is connected (container
HEALTHCHECK). The worker rewrites the file every 5 s."""
import json
import os
import sys
import time

MAX_AGE_MS = 20_000


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TASKWIRE_HEALTH_FILE", "")
    if not path:
        print("unhealthy: no health file (TASKWIRE_HEALTH_FILE)", file=sys.stderr)
        return 1
    try:
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
    except (OSError, ValueError) as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1
    age = time.time() * 1000 - float(body.get("ts_ms", 0))
    if age > MAX_AGE_MS:
        print(f"unhealthy: health file is {age / 1000:.0f} s old", file=sys.stderr)
        return 1
    if not body.get("mqtt"):
        print("unhealthy: not connected to the broker", file=sys.stderr)
        return 1
    print(f"ok: worker {body.get('state')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
