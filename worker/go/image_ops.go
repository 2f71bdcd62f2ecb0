package main

// The operations of the `image` kind on rasters (image_raster.go), one pass
// each, in the chain's order (docs/IMAGES.md "The Go worker": where the
// results differ from sharp's). Convolutions (blur, sharpen, edge) extend the
// edge pixels; results are rounded and clamped to 0..255 after every pass, as
// libvips does between sharp's pipelines.

import (
	"context"
	"fmt"
	"image"
	"math"

	xdraw "golang.org/x/image/draw"
)

// opError: the operation does not fit the image (a crop outside it); BAD_INPUT.
type opError struct{ msg string }

func (e *opError) Error() string { return e.msg }

var edgeMatrices = map[string][9]float64{
	"laplacian": {-1, -1, -1, -1, 8, -1, -1, -1, -1},
	"sobel_x":   {-1, 0, 1, -2, 0, 2, -1, 0, 1},
	"sobel_y":   {-1, -2, -1, 0, 0, 0, 1, 2, 1},
}

// applyOp runs one operation; ctx is checked in the long loops (a cancelled attempt stops early).
func applyOp(ctx context.Context, r *raster, op imageOp) (*raster, error) {
	switch op.op {
	case "resize":
		return resize(r, op.width, op.height, op.fit), nil
	case "crop":
		if op.left+op.width > r.w || op.top+op.height > r.h {
			return nil, &opError{fmt.Sprintf("crop %dx%d+%d+%d is outside the %dx%d image", op.width, op.height, op.left, op.top, r.w, r.h)}
		}
		return crop(r, op.left, op.top, op.width, op.height), nil
	case "rotate":
		return rotate(r, op.angle), nil
	case "flip":
		return flip(r, op.direction), nil
	case "blur":
		return blur(ctx, r, op.sigma)
	case "sharpen":
		return sharpen(ctx, r, op.sigma)
	case "brightness":
		return perColour(r, func(v float64) float64 { return v * op.factor }), nil
	case "contrast": // out = f·in + 128·(1−f), as the TypeScript worker
		return perColour(r, func(v float64) float64 { return op.factor*v + 128*(1-op.factor) }), nil
	case "saturation":
		return saturate(r, op.factor), nil
	case "grayscale":
		return grayscale(r), nil
	case "edge":
		return convolve3(r, edgeMatrices[op.kernel]), nil
	}
	return r, nil // format: at encode
}

// resizeSize is sharp's geometry: the missing side from the aspect ratio;
// fill: exactly w×h; inside / contain: the largest scale within w×h; outside /
// cover: the smallest covering it. Then cover crops the centre, contain pads
// (centred) to w×h. Returns the scaled size and the final size.
func resizeSize(iw, ih, w, h int, fit string) (sw, sh, fw, fh int) {
	if w == 0 {
		w = max(1, int(math.Round(float64(iw)*float64(h)/float64(ih))))
	}
	if h == 0 {
		h = max(1, int(math.Round(float64(ih)*float64(w)/float64(iw))))
	}
	if fit == "fill" {
		return w, h, w, h
	}
	sx, sy := float64(w)/float64(iw), float64(h)/float64(ih)
	s := math.Max(sx, sy)
	if fit == "inside" || fit == "contain" {
		s = math.Min(sx, sy)
	}
	sw, sh = max(1, int(math.Round(float64(iw)*s))), max(1, int(math.Round(float64(ih)*s)))
	if fit == "inside" || fit == "outside" {
		return sw, sh, sw, sh
	}
	if fit == "cover" {
		sw, sh = max(sw, w), max(sh, h) // rounding never leaves a gap to crop
	} else {
		sw, sh = min(sw, w), min(sh, h)
	}
	return sw, sh, w, h
}

// resize scales with Catmull-Rom (golang.org/x/image/draw) in premultiplied RGBA.
func resize(r *raster, w, h int, fit string) *raster {
	sw, sh, fw, fh := resizeSize(r.w, r.h, w, h, fit)
	dst := image.NewRGBA(image.Rect(0, 0, sw, sh))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), r.toRGBA(), image.Rect(0, 0, r.w, r.h), xdraw.Src, nil)
	scaled := fromRGBA(dst, r.ch)
	switch {
	case sw == fw && sh == fh:
		return scaled
	case fit == "cover":
		return crop(scaled, (sw-fw)/2, (sh-fh)/2, fw, fh)
	}
	// contain: letterboxed on opaque black, sharp's default background.
	out := newRaster(fw, fh, r.ch)
	if r.hasAlpha() {
		for i := r.ch - 1; i < len(out.pix); i += r.ch {
			out.pix[i] = 255
		}
	}
	ox, oy := (fw-sw)/2, (fh-sh)/2
	for y := 0; y < sh; y++ {
		copy(out.pix[((y+oy)*fw+ox)*r.ch:((y+oy)*fw+ox+sw)*r.ch], scaled.pix[y*sw*r.ch:(y+1)*sw*r.ch])
	}
	return out
}

func crop(r *raster, left, top, w, h int) *raster {
	out := newRaster(w, h, r.ch)
	for y := 0; y < h; y++ {
		copy(out.pix[y*w*r.ch:(y+1)*w*r.ch], r.pix[((top+y)*r.w+left)*r.ch:((top+y)*r.w+left+w)*r.ch])
	}
	return out
}

func flip(r *raster, direction string) *raster {
	out := newRaster(r.w, r.h, r.ch)
	for y := 0; y < r.h; y++ {
		sy := y
		if direction != "horizontal" {
			sy = r.h - 1 - y
		}
		for x := 0; x < r.w; x++ {
			sx := x
			if direction != "vertical" {
				sx = r.w - 1 - x
			}
			copy(out.pix[(y*r.w+x)*r.ch:(y*r.w+x+1)*r.ch], r.pix[(sy*r.w+sx)*r.ch:(sy*r.w+sx+1)*r.ch])
		}
	}
	return out
}

// rotate turns clockwise (sharp's direction) by any angle: multiples of 90°
// move pixels exactly; other angles grow the canvas to the rotated bounds and
// sample bilinearly (premultiplied), the corners black (transparent when the
// image has alpha).
func rotate(r *raster, angle float64) *raster {
	a := math.Mod(angle, 360)
	if a < 0 {
		a += 360
	}
	if a == 0 {
		return r
	}
	if a == 90 || a == 180 || a == 270 {
		w, h := r.w, r.h
		if a != 180 {
			w, h = r.h, r.w
		}
		out := newRaster(w, h, r.ch)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var sx, sy int
				switch a {
				case 90:
					sx, sy = y, r.h-1-x
				case 180:
					sx, sy = r.w-1-x, r.h-1-y
				default:
					sx, sy = r.w-1-y, x
				}
				copy(out.pix[(y*w+x)*r.ch:(y*w+x+1)*r.ch], r.pix[(sy*r.w+sx)*r.ch:(sy*r.w+sx+1)*r.ch])
			}
		}
		return out
	}
	rad := a * math.Pi / 180
	cos, sin := math.Cos(rad), math.Sin(rad)
	fw, fh := float64(r.w), float64(r.h)
	w := max(1, int(math.Ceil(math.Abs(fw*cos)+math.Abs(fh*sin)-1e-9)))
	h := max(1, int(math.Ceil(math.Abs(fw*sin)+math.Abs(fh*cos)-1e-9)))
	src := premultiplied(r)
	out := newRaster(w, h, r.ch)
	acc := make([]float32, r.ch)
	for y := 0; y < h; y++ {
		dy := float64(y) + 0.5 - float64(h)/2
		for x := 0; x < w; x++ {
			dx := float64(x) + 0.5 - float64(w)/2
			// The inverse rotation from the output's pixel centre into the input.
			sx := cos*dx + sin*dy + fw/2 - 0.5
			sy := -sin*dx + cos*dy + fh/2 - 0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			tx, ty := sx-float64(x0), sy-float64(y0)
			for k := range acc {
				acc[k] = 0
			}
			for j := 0; j < 2; j++ {
				for i := 0; i < 2; i++ {
					px, py := x0+i, y0+j
					if px < 0 || py < 0 || px >= r.w || py >= r.h {
						continue // outside: black / transparent
					}
					wt := float32((1 - math.Abs(float64(i)-tx)) * (1 - math.Abs(float64(j)-ty)))
					o := (py*r.w + px) * r.ch
					for k := 0; k < r.ch; k++ {
						acc[k] += wt * src[o+k]
					}
				}
			}
			storePremultiplied(out, (y*w+x)*r.ch, acc)
		}
	}
	return out
}

// premultiplied is the raster as float32 (half float64's memory on big images), colour
// multiplied by alpha/255 when it has alpha.
func premultiplied(r *raster) []float32 {
	f := make([]float32, len(r.pix))
	for i := 0; i < len(r.pix); i += r.ch {
		a := float32(1)
		if r.hasAlpha() {
			a = float32(r.pix[i+r.ch-1]) / 255
			f[i+r.ch-1] = float32(r.pix[i+r.ch-1])
		}
		for k := 0; k < r.colours(); k++ {
			f[i+k] = float32(r.pix[i+k]) * a
		}
	}
	return f
}

// storePremultiplied writes one premultiplied pixel back (un-premultiplied, rounded, clamped).
func storePremultiplied(out *raster, o int, px []float32) {
	a := float32(1)
	if out.hasAlpha() {
		alpha := clamp8(float64(px[out.ch-1]))
		out.pix[o+out.ch-1] = alpha
		if alpha == 0 {
			for k := 0; k < out.colours(); k++ {
				out.pix[o+k] = 0
			}
			return
		}
		a = px[out.ch-1] / 255
	}
	for k := 0; k < out.colours(); k++ {
		out.pix[o+k] = clamp8(float64(px[k] / a))
	}
}

// gaussian is a normalised 1-D kernel of radius ceil(3σ).
func gaussian(sigma float64) []float32 {
	radius := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*radius+1)
	sum := 0.0
	for i := range k {
		d := float64(i - radius)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	out := make([]float32, len(k))
	for i := range k {
		out[i] = float32(k[i] / sum)
	}
	return out
}

// separable convolves the w×h×ch float image with k along x then y, edges
// extended: the weight of the taps past an edge goes to the edge pixel at
// once, so a pass costs at most the line's length per pixel even for a radius
// larger than the image (σ up to 1000). The result overwrites f (two buffers, not three).
func separable(ctx context.Context, f []float32, w, h, ch int, k []float32) ([]float32, error) {
	cum := make([]float32, len(k)+1) // cum[i]: the weight of taps 0..i-1
	for i, v := range k {
		cum[i+1] = cum[i] + v
	}
	tmp, out := make([]float32, len(f)), f
	for y := 0; y < h; y++ {
		if y%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for c := 0; c < ch; c++ {
			convolveLine(f, tmp, y*w*ch+c, ch, w, k, cum)
		}
	}
	for x := 0; x < w; x++ {
		if x%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for c := 0; c < ch; c++ {
			convolveLine(tmp, out, x*ch+c, w*ch, h, k, cum)
		}
	}
	return out, nil
}

// convolveLine: one line of n values from start, step apart.
func convolveLine(src, dst []float32, start, step, n int, k, cum []float32) {
	radius := len(k) / 2
	for p := 0; p < n; p++ {
		lo, hi := max(0, radius-p), min(len(k)-1, radius-p+n-1) // the taps inside the line
		s := cum[lo]*src[start] + (cum[len(k)]-cum[hi+1])*src[start+(n-1)*step]
		for i := lo; i <= hi; i++ {
			s += k[i] * src[start+(p+i-radius)*step]
		}
		dst[start+p*step] = s
	}
}

// blur is a Gaussian blur of every channel (premultiplied, so transparent pixels do not bleed).
func blur(ctx context.Context, r *raster, sigma float64) (*raster, error) {
	f, err := separable(ctx, premultiplied(r), r.w, r.h, r.ch, gaussian(sigma))
	if err != nil {
		return nil, err
	}
	out := newRaster(r.w, r.h, r.ch)
	for o := 0; o < len(f); o += r.ch {
		storePremultiplied(out, o, f[o:o+r.ch])
	}
	return out, nil
}

// sharpen is an unsharp mask of the colour channels: in + 1.5·(in − gaussian(in, σ))
// (the Python worker's amount; sharp sharpens the L of LAB with its own curve). Alpha is kept.
func sharpen(ctx context.Context, r *raster, sigma float64) (*raster, error) {
	f := make([]float32, len(r.pix))
	for i, v := range r.pix {
		f[i] = float32(v)
	}
	b, err := separable(ctx, f, r.w, r.h, r.ch, gaussian(sigma))
	if err != nil {
		return nil, err
	}
	out := newRaster(r.w, r.h, r.ch)
	for i, v := range r.pix {
		if r.hasAlpha() && i%r.ch == r.ch-1 {
			out.pix[i] = v
			continue
		}
		out.pix[i] = clamp8(float64(v) + 1.5*(float64(v)-float64(b[i])))
	}
	return out, nil
}

// perColour maps every colour channel through fn (a 256-entry table); alpha is kept.
func perColour(r *raster, fn func(float64) float64) *raster {
	var table [256]uint8
	for v := range table {
		table[v] = clamp8(fn(float64(v)))
	}
	out := newRaster(r.w, r.h, r.ch)
	for i, v := range r.pix {
		if r.hasAlpha() && i%r.ch == r.ch-1 {
			out.pix[i] = v
		} else {
			out.pix[i] = table[v]
		}
	}
	return out
}

// luma is Rec. 601 (image/color's GrayModel and Pillow's "L").
func luma(rv, gv, bv uint8) float64 {
	return 0.299*float64(rv) + 0.587*float64(gv) + 0.114*float64(bv)
}

// saturate moves each colour away from (f > 1) or towards (f < 1) its grey; grey images are unchanged.
func saturate(r *raster, f float64) *raster {
	out := &raster{w: r.w, h: r.h, ch: r.ch, pix: append([]uint8(nil), r.pix...)}
	if r.ch < 3 {
		return out
	}
	for i := 0; i < len(r.pix); i += r.ch {
		l := luma(r.pix[i], r.pix[i+1], r.pix[i+2])
		for k := 0; k < 3; k++ {
			out.pix[i+k] = clamp8(l + f*(float64(r.pix[i+k])-l))
		}
	}
	return out
}

// grayscale: one channel (two with alpha), so a PNG of it has one.
func grayscale(r *raster) *raster {
	if r.ch < 3 {
		return r
	}
	out := newRaster(r.w, r.h, r.ch-2)
	for i, o := 0, 0; i < len(r.pix); i, o = i+r.ch, o+out.ch {
		out.pix[o] = clamp8(luma(r.pix[i], r.pix[i+1], r.pix[i+2]))
		if r.ch == 4 {
			out.pix[o+1] = r.pix[i+3]
		}
	}
	return out
}

// convolve3 applies a 3×3 kernel (scale 1, offset 0: each kernel sums to 0) to the colour channels.
func convolve3(r *raster, m [9]float64) *raster {
	out := newRaster(r.w, r.h, r.ch)
	for y := 0; y < r.h; y++ {
		for x := 0; x < r.w; x++ {
			o := (y*r.w + x) * r.ch
			for c := 0; c < r.ch; c++ {
				if r.hasAlpha() && c == r.ch-1 {
					out.pix[o+c] = r.pix[o+c]
					continue
				}
				s := 0.0
				for j := -1; j <= 1; j++ {
					sy := min(max(y+j, 0), r.h-1)
					for i := -1; i <= 1; i++ {
						sx := min(max(x+i, 0), r.w-1)
						s += m[(j+1)*3+i+1] * float64(r.pix[(sy*r.w+sx)*r.ch+c])
					}
				}
				out.pix[o+c] = clamp8(s)
			}
		}
	}
	return out
}
