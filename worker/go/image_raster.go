package main

// Pixels between operations, as sharp's raw buffers: 8 bits per channel,
// interleaved, 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels,
// alpha not premultiplied. Each operation reads one raster and writes a new
// one, so the chain runs exactly in its order. Decoding and encoding use the
// standard library (png, jpeg, gif) and golang.org/x/image/webp (decode only).

import (
	"bytes"
	"image"
	"image/draw"
	_ "image/gif" // decoded (first frame), written as png
	"image/jpeg"
	"image/png"

	_ "golang.org/x/image/webp" // decoded, written as png (no webp encoder here)
)

// readFormats are the input formats the decoders imported above register
// with image.Decode, advertised as image:read:<format> (names of
// common/kinds/image-read.ts), so the master places an input of another
// format (avif, tiff, ...) on a worker that reads it. Keep it in step with
// the imports; TestReadFormatsAreDecoded decodes one image of each.
var readFormats = []string{"gif", "jpeg", "png", "webp"}

type raster struct {
	w, h, ch int
	pix      []uint8
}

func newRaster(w, h, ch int) *raster {
	return &raster{w: w, h: h, ch: ch, pix: make([]uint8, w*h*ch)}
}

func (r *raster) hasAlpha() bool { return r.ch == 2 || r.ch == 4 }

// colours is the number of colour channels (alpha, the last one, excluded).
func (r *raster) colours() int {
	if r.hasAlpha() {
		return r.ch - 1
	}
	return r.ch
}

func clamp8(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// fromImage copies a decoded image: grey stays one channel, an opaque image
// has three, one with transparency four.
func fromImage(img image.Image) *raster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch s := img.(type) {
	case *image.Gray:
		r := newRaster(w, h, 1)
		for y := 0; y < h; y++ {
			copy(r.pix[y*w:(y+1)*w], s.Pix[y*s.Stride:y*s.Stride+w])
		}
		return r
	case *image.NRGBA:
		ch := 4
		if s.Opaque() {
			ch = 3
		}
		r := newRaster(w, h, ch)
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+4*w]
			for x := 0; x < w; x++ {
				copy(r.pix[(y*w+x)*ch:(y*w+x)*ch+ch], row[4*x:4*x+ch])
			}
		}
		return r
	}
	// Everything else through premultiplied RGBA (image/draw has fast paths for YCbCr, the JPEG case).
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	ch := 4
	if rgba.Opaque() {
		ch = 3
	}
	return fromRGBA(rgba, ch)
}

// fromRGBA takes a premultiplied RGBA image back into ch channels (1 and 2: the red one as grey).
func fromRGBA(img *image.RGBA, ch int) *raster {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	r := newRaster(w, h, ch)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			p, o := row[4*x:4*x+4], (y*w+x)*ch
			a := p[3]
			un := func(c uint8) uint8 { return unpremultiply(c, a) }
			switch ch {
			case 1:
				r.pix[o] = p[0]
			case 2:
				r.pix[o], r.pix[o+1] = un(p[0]), a
			case 3:
				copy(r.pix[o:o+3], p[:3])
			case 4:
				r.pix[o], r.pix[o+1], r.pix[o+2], r.pix[o+3] = un(p[0]), un(p[1]), un(p[2]), a
			}
		}
	}
	return r
}

func unpremultiply(c, a uint8) uint8 {
	switch a {
	case 255:
		return c
	case 0:
		return 0
	}
	return clamp8(float64(c) * 255 / float64(a))
}

// toRGBA is the raster as a premultiplied RGBA image (grey repeated), for x/image/draw's scalers.
func (r *raster) toRGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	n := r.w * r.h
	for i := 0; i < n; i++ {
		p, d := r.pix[i*r.ch:(i+1)*r.ch], img.Pix[4*i:4*i+4]
		var c [3]uint8
		a := uint8(255)
		switch r.ch {
		case 1:
			c = [3]uint8{p[0], p[0], p[0]}
		case 2:
			c, a = [3]uint8{p[0], p[0], p[0]}, p[1]
		case 3:
			c = [3]uint8{p[0], p[1], p[2]}
		case 4:
			c, a = [3]uint8{p[0], p[1], p[2]}, p[3]
		}
		for k := 0; k < 3; k++ {
			d[k] = uint8((uint32(c[k])*uint32(a) + 127) / 255)
		}
		d[3] = a
	}
	return img
}

// opaque: no alpha channel, or every pixel's alpha is 255.
func (r *raster) opaque() bool {
	if !r.hasAlpha() {
		return true
	}
	for i := r.ch - 1; i < len(r.pix); i += r.ch {
		if r.pix[i] != 255 {
			return false
		}
	}
	return true
}

// encoded writes the raster as png or jpeg (quality 0: 80, sharp's default).
// Grey stays grey (an 8-bit grey PNG or JPEG: one channel); PNG has no grey +
// alpha in the standard library, so that is written as RGBA; JPEG has no
// alpha: flattened onto black.
func (r *raster) encoded(format string, quality int) ([]byte, error) {
	var buf bytes.Buffer
	grey := r.ch <= 2
	var img image.Image
	switch {
	case grey && (format == "jpeg" || r.opaque()):
		g := image.NewGray(image.Rect(0, 0, r.w, r.h))
		for i := range g.Pix {
			v := r.pix[i*r.ch]
			if r.ch == 2 {
				v = uint8((uint32(v)*uint32(r.pix[i*2+1]) + 127) / 255)
			}
			g.Pix[i] = v
		}
		img = g
	case format == "jpeg":
		img = r.toRGBA() // premultiplied: onto black
	default:
		n := image.NewNRGBA(image.Rect(0, 0, r.w, r.h))
		for i := 0; i < r.w*r.h; i++ {
			p, d := r.pix[i*r.ch:(i+1)*r.ch], n.Pix[4*i:4*i+4]
			switch r.ch {
			case 2:
				d[0], d[1], d[2], d[3] = p[0], p[0], p[0], p[1]
			case 3:
				d[0], d[1], d[2], d[3] = p[0], p[1], p[2], 255
			case 4:
				copy(d, p)
			}
		}
		img = n
	}
	var err error
	if format == "jpeg" {
		if quality == 0 {
			quality = 80
		}
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img)
	}
	return buf.Bytes(), err
}
