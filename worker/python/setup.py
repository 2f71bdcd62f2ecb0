"""Wheel build hook: generates the protocol stubs from proto/ (the repository's
../../proto, or TASKWIRE_PROTO_DIR) into taskwire_worker/_gen of the build, with
grpcio-tools (a build requirement in pyproject.toml). Never committed."""
import glob
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithStubs(build_py):
    def run(self) -> None:
        super().run()
        from grpc_tools import protoc  # build requirement

        proto = os.environ.get("TASKWIRE_PROTO_DIR") or os.path.join(HERE, "..", "..", "proto")
        if not os.path.isfile(os.path.join(proto, "taskwire", "v1", "worker.proto")):
            raise SystemExit(f"taskwire-worker build: no taskwire/v1/*.proto under {proto} (build from the repository, or set TASKWIRE_PROTO_DIR)")
        out = os.path.join(self.build_lib, "taskwire_worker", "_gen")
        os.makedirs(out, exist_ok=True)
        include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        args = ["protoc", f"-I{proto}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"]
        args += sorted(glob.glob(os.path.join(proto, "taskwire", "v1", "*.proto")))
        if protoc.main(args) != 0:
            raise SystemExit("taskwire-worker build: protoc failed")
        for pkg in ("taskwire", os.path.join("taskwire", "v1")):
            open(os.path.join(out, pkg, "__init__.py"), "a").close()


setup(cmdclass={"build_py": BuildWithStubs})
