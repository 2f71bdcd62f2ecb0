"""`image` with Pillow (docs/IMAGES.md): fetch the input over gRPC FetchBlob,
run the chain in order, store the output with PutBlob, answer
{blob, bytes, width, height, format, content_type, ms}.

Pillow is optional: without it (or without an encoder it needs) the worker
does not serve the kind, see `available()`. AVIF is served only when the
installed Pillow writes it. A corrupt, truncated or non-image input, or more
pixels than TASKWIRE_IMAGE_MAX_PIXELS, is BAD_INPUT (not retried).

The handler needs the attempt's identity (task, attempt, worker, result
token) for the blob calls; TaskContext does not carry it, so it is read from
the attempt that owns the context (see `_ident`).
"""
import io
import os
import re
import time
from typing import Any, Dict, List, Optional, Tuple

import grpc

from ..errors import TaskFailure
from ..stubs import result_service_pb2 as rs
from .base import Handler, Outcome, TaskContext

CHUNK = 1024 * 1024
BLOB_DEADLINE_S = 120.0
MAX_OPS = 32
MAX_SIDE = 16_384
FITS = ("cover", "contain", "fill", "inside", "outside")
EDGE = {
    "laplacian": [-1, -1, -1, -1, 8, -1, -1, -1, -1],
    "sobel_x": [-1, 0, 1, -2, 0, 2, -1, 0, 1],
    "sobel_y": [-1, -2, -1, 0, 0, 0, 1, 2, 1],
}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}
BLOB_ID = re.compile(r"^[0-9a-f]{64}$")

try:  # Debian python3-pil; absent in a bare venv
    from PIL import Image, ImageEnhance, ImageFilter, ImageOps, features
except ImportError:  # pragma: no cover - depends on the machine
    Image = None  # type: ignore[assignment]


def available() -> bool:
    return Image is not None


def writable_formats() -> List[str]:
    if Image is None:
        return []
    out = ["jpeg", "png"]
    if features.check("webp"):
        out.append("webp")
    if ".avif" in Image.registered_extensions():
        out.append("avif")
    return out


# The input formats a worker may say it reads (image:read:<format>, common/kinds/image-read.ts) and
# Pillow's name of each; "heif" is HEIF other than AVIF (a plugin such as pillow-heif registers it).
READ_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "gif": "GIF", "tiff": "TIFF", "bmp": "BMP", "heif": "HEIF"}
# Plugins Pillow registers even when the library behind them is missing (their open then fails).
NEEDS_MODULE = {"webp": "webp", "avif": "avif"}


def readable_formats() -> List[str]:
    """The input formats this Pillow opens: registered (Image.OPEN) and, for webp and avif, with
    their library built in, so the master places e.g. a webp input here only when it decodes."""
    if Image is None:
        return []
    Image.init()
    out = []
    for name, pil in READ_FORMATS.items():
        if pil not in Image.OPEN:
            continue
        module = NEEDS_MODULE.get(name)
        if module is not None:
            try:
                if not features.check_module(module):
                    continue
            except ValueError:  # a Pillow that does not know the module: no such decoder
                continue
        out.append(name)
    return sorted(out)


def _bad(path: str, msg: str) -> TaskFailure:
    return TaskFailure("BAD_INPUT", f"input.{path}: {msg}", False)


def _num(o: Dict[str, Any], k: str, path: str, lo: float, hi: float, integer: bool = False, default: Any = None) -> Any:
    if k not in o:
        if default is not None:
            return default
        raise _bad(f"{path}.{k}", "required")
    v = o[k]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and int(v) != v):
        raise _bad(f"{path}.{k}", f"expected {'an integer' if integer else 'a number'}")
    if v < lo or v > hi:
        raise _bad(f"{path}.{k}", f"must be from {lo} to {hi}")
    return int(v) if integer else float(v)


def _choice(o: Dict[str, Any], k: str, path: str, choices: Tuple[str, ...], default: str) -> str:
    v = o.get(k, default)
    if v not in choices:
        raise _bad(f"{path}.{k}", f"expected one of {', '.join(choices)}")
    return v


ALLOWED = {
    "resize": {"width", "height", "fit"}, "crop": {"left", "top", "width", "height"}, "rotate": {"angle"},
    "flip": {"direction"}, "blur": {"sigma"}, "sharpen": {"sigma"}, "brightness": {"factor"},
    "contrast": {"factor"}, "saturation": {"factor"}, "grayscale": set(), "edge": {"kernel"}, "format": {"format", "quality"},
}


def parse_chain(value: Any) -> Tuple[str, List[Dict[str, Any]]]:
    """The same rules as common/kinds/image.ts, with the same field paths."""
    if not isinstance(value, dict) or set(value) - {"blob", "ops"}:
        raise _bad("", "expected {blob, ops}")
    blob = value.get("blob")
    if not isinstance(blob, str) or not BLOB_ID.match(blob):
        raise _bad("blob", "expected a blob id (sha256, 64 hex digits)")
    ops = value.get("ops")
    if not isinstance(ops, list) or not 1 <= len(ops) <= MAX_OPS:
        raise _bad("ops", f"expected 1 to {MAX_OPS} operations")
    out: List[Dict[str, Any]] = []
    formats = writable_formats()
    for i, o in enumerate(ops):
        p = f"ops.{i}"
        if not isinstance(o, dict) or o.get("op") not in ALLOWED:
            raise _bad(f"{p}.op", f"unknown operation (one of {', '.join(ALLOWED)})")
        name = o["op"]
        extra = set(o) - ALLOWED[name] - {"op"}
        if extra:
            raise _bad(f"{p}.{sorted(extra)[0]}", "unknown parameter")
        r: Dict[str, Any] = {"op": name}
        if name == "resize":
            if "width" not in o and "height" not in o:
                raise _bad(f"{p}.width", "resize needs width or height")
            for k in ("width", "height"):
                if k in o:
                    r[k] = _num(o, k, p, 1, MAX_SIDE, True)
            r["fit"] = _choice(o, "fit", p, FITS, "cover")
        elif name == "crop":
            for k in ("left", "top"):
                r[k] = _num(o, k, p, 0, 2**31, True)
            for k in ("width", "height"):
                r[k] = _num(o, k, p, 1, MAX_SIDE, True)
        elif name == "rotate":
            r["angle"] = _num(o, "angle", p, -360, 360)
        elif name == "flip":
            r["direction"] = _choice(o, "direction", p, ("horizontal", "vertical", "both"), "vertical")
        elif name == "blur":
            r["sigma"] = _num(o, "sigma", p, 0.3, 1000)
        elif name == "sharpen":
            r["sigma"] = _num(o, "sigma", p, 0.01, 10, default=1.0)
        elif name in ("brightness", "contrast", "saturation"):
            r["factor"] = _num(o, "factor", p, 0, 10)
        elif name == "edge":
            r["kernel"] = _choice(o, "kernel", p, tuple(EDGE), "laplacian")
        elif name == "format":
            if i != len(ops) - 1:
                raise _bad(f"{p}.op", "format must be the last operation")
            fmt = o.get("format")
            if fmt not in CONTENT_TYPES:
                raise _bad(f"{p}.format", "expected one of jpeg, png, webp, avif")
            if fmt not in formats:
                raise _bad(f"{p}.format", f"this worker's Pillow does not write {fmt} (it writes {', '.join(formats)})")
            r["format"] = fmt
            if "quality" in o:
                r["quality"] = _num(o, "quality", p, 1, 100, True)
        out.append(r)
    return blob, out


def _resize(img: "Image.Image", w: Optional[int], h: Optional[int], fit: str) -> "Image.Image":
    iw, ih = img.size
    if w is None:
        w = max(1, round(iw * h / ih))  # type: ignore[operator]
    if h is None:
        h = max(1, round(ih * w / iw))
    if fit == "fill":
        return img.resize((w, h), Image.LANCZOS)
    sx, sy = w / iw, h / ih
    if fit in ("inside", "contain"):
        s = min(sx, sy)
    else:
        s = max(sx, sy)
    nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
    scaled = img.resize((nw, nh), Image.LANCZOS)
    if fit in ("inside", "outside"):
        return scaled
    if fit == "cover":
        left, top = (nw - w) // 2, (nh - h) // 2
        return scaled.crop((left, top, left + w, top + h))
    canvas = Image.new(scaled.mode, (w, h))  # contain: letterboxed on black / transparent
    canvas.paste(scaled, ((w - nw) // 2, (h - nh) // 2))
    return canvas


def _per_band(img: "Image.Image", fn: Any) -> "Image.Image":
    """Applies fn to the colour bands, leaving alpha alone."""
    if img.mode in ("RGBA", "LA"):
        *colour, alpha = img.split()
        merged = Image.merge(img.mode[:-1], [fn(b) for b in colour])
        merged.putalpha(alpha)
        return merged
    if img.mode in ("RGB", "L"):
        return Image.merge(img.mode, [fn(b) for b in img.split()])
    return _per_band(img.convert("RGBA" if "A" in img.getbands() else "RGB"), fn)


def apply(img: "Image.Image", op: Dict[str, Any]) -> "Image.Image":
    name = op["op"]
    if name == "resize":
        return _resize(img, op.get("width"), op.get("height"), op["fit"])
    if name == "crop":
        l, t, w, h = op["left"], op["top"], op["width"], op["height"]
        if l + w > img.width or t + h > img.height:
            raise _bad("ops", f"crop {l},{t} {w}x{h} is outside the {img.width}x{img.height} image")
        return img.crop((l, t, l + w, t + h))
    if name == "rotate":  # sharp rotates clockwise, Pillow counter-clockwise
        return img.rotate(-op["angle"], resample=Image.BICUBIC, expand=True)
    if name == "flip":
        d = op["direction"]
        if d in ("vertical", "both"):
            img = ImageOps.flip(img)
        if d in ("horizontal", "both"):
            img = ImageOps.mirror(img)
        return img
    if name == "blur":
        return img.filter(ImageFilter.GaussianBlur(op["sigma"]))
    if name == "sharpen":
        return img.filter(ImageFilter.UnsharpMask(radius=op["sigma"], percent=150, threshold=0))
    if name == "brightness":
        f = op["factor"]
        return _per_band(img, lambda b: b.point(lambda v: min(255, int(v * f + 0.5))))
    if name == "contrast":  # out = f*in + 128*(1-f), as the TypeScript worker
        f = op["factor"]
        return _per_band(img, lambda b: b.point(lambda v: max(0, min(255, int(f * v + 128 * (1 - f) + 0.5)))))
    if name == "saturation":
        if img.mode not in ("RGB", "RGBA"):
            return img
        return ImageEnhance.Color(img).enhance(op["factor"])
    if name == "grayscale":
        return img.convert("LA" if "A" in img.getbands() else "L")
    if name == "edge":
        k = ImageFilter.Kernel((3, 3), EDGE[op["kernel"]], scale=1, offset=0)
        return _per_band(img, lambda b: b.filter(k))
    return img  # format: applied at encode


class ImageHandler(Handler):
    kind = "image"

    def __init__(self, max_pixels: Optional[int] = None) -> None:
        self.max_pixels = max_pixels if max_pixels is not None else int(os.environ.get("TASKWIRE_IMAGE_MAX_PIXELS", "100000000"))

    def features(self) -> List[str]:
        """Every operation, the formats this Pillow writes and the ones it reads (WorkerStatus.features):
        the master then places an avif output only on a worker that advertises image:format:avif, and a
        webp input only on one that advertises image:read:webp."""
        return sorted([f"image:op:{op}" for op in ALLOWED] + [f"image:format:{f}" for f in writable_formats()]
                      + [f"image:read:{f}" for f in readable_formats()])

    @staticmethod
    def _ident(ctx: TaskContext) -> Tuple[Any, Dict[str, Any]]:
        attempt = getattr(ctx._fetch_secrets, "__self__", None)  # the runner's Attempt (see the module doc)
        a = getattr(attempt, "a", None)
        if attempt is None or a is None:
            raise TaskFailure("INTERNAL", "image: no attempt identity for the blob service", False)
        ident = {"task_id": a.task_id, "attempt": a.attempt, "worker_id": attempt.worker_id, "result_token": a.result_token}
        return attempt.reporter, ident

    def _fetch(self, reporter: Any, ident: Dict[str, Any], blob: str) -> bytes:
        stub = reporter.stub(10.0)
        if stub is None:
            raise TaskFailure("PROVIDER_UNAVAILABLE", "no result service to fetch the image from", True)
        try:
            return b"".join(c.data for c in stub.FetchBlob(rs.FetchBlobRequest(blob_id=blob, **ident), timeout=BLOB_DEADLINE_S))
        except grpc.RpcError as err:
            retry = err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            raise TaskFailure("PROVIDER_UNAVAILABLE" if retry else "BAD_INPUT", f"FetchBlob {blob[:12]}: {err.code().name}: {err.details()}", retry) from None

    def _put(self, reporter: Any, ident: Dict[str, Any], data: bytes, content_type: str) -> str:
        stub = reporter.stub(10.0)
        if stub is None:
            raise TaskFailure("PROVIDER_UNAVAILABLE", "no result service to store the output in", True)

        def chunks() -> Any:
            yield rs.PutBlobChunk(content_type=content_type, data=data[:CHUNK], **ident)
            for off in range(CHUNK, len(data), CHUNK):
                yield rs.PutBlobChunk(data=data[off:off + CHUNK])
        try:
            return stub.PutBlob(chunks(), timeout=BLOB_DEADLINE_S).blob_id
        except grpc.RpcError as err:
            raise TaskFailure("PROVIDER_UNAVAILABLE", f"PutBlob: {err.code().name}: {err.details()}", True) from None

    def run(self, ctx: TaskContext) -> Outcome:
        started = time.monotonic()
        blob, ops = parse_chain(ctx.input)
        reporter, ident = self._ident(ctx)
        data = self._fetch(reporter, ident, blob)
        ctx.check()
        Image.MAX_IMAGE_PIXELS = None  # our own bound below, as an error rather than a warning
        try:
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > self.max_pixels:
                raise _bad("blob", f"{img.width}x{img.height} is more than {self.max_pixels} pixels")
            src_format = (img.format or "").lower()
            img.load()
        except TaskFailure:
            raise
        except Exception as err:  # noqa: BLE001 - any decoder error is a bad input
            raise _bad("blob", f"not a readable image: {err}") from None
        img = ImageOps.exif_transpose(img)
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
        for op in ops:
            ctx.check()
            img = apply(img, op)
        fmt_op = ops[-1] if ops[-1]["op"] == "format" else None
        fmt = fmt_op["format"] if fmt_op else (src_format if src_format in writable_formats() else "png")
        if fmt == "jpeg" and img.mode in ("RGBA", "LA"):
            img = img.convert("RGB" if img.mode == "RGBA" else "L")
        buf = io.BytesIO()
        kwargs: Dict[str, Any] = {}
        if fmt_op and "quality" in fmt_op:
            kwargs["quality"] = fmt_op["quality"]
        img.save(buf, PIL_FORMATS[fmt], **kwargs)
        out = buf.getvalue()
        ctx.check()
        out_id = self._put(reporter, ident, out, CONTENT_TYPES[fmt])
        return {"blob": out_id, "bytes": len(out), "width": img.width, "height": img.height, "format": fmt,
                "content_type": CONTENT_TYPES[fmt], "ms": int((time.monotonic() - started) * 1000)}, None
