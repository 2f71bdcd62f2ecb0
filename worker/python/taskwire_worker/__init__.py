"""taskwire reference worker in Python (protocol taskwire.v1).

Implements docs/PROTOCOL.md with Debian's python3-paho-mqtt, python3-grpcio and
python3-protobuf only; message classes come from proto/ via gen_stubs.sh.
"""

VERSION = "0.1.0"
LANGUAGE = "python"
PROTOCOL = "taskwire.v1"
