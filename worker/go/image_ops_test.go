package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// solid is a w×h raster of one pixel value (its length: the channels).
func solid(w, h int, px ...uint8) *raster {
	r := newRaster(w, h, len(px))
	for i := 0; i < w*h; i++ {
		copy(r.pix[i*len(px):], px)
	}
	return r
}

// numbered: a w×h grey raster whose pixel (x, y) is y*w + x, to follow where pixels go.
func numbered(w, h int) *raster {
	r := newRaster(w, h, 1)
	for i := range r.pix {
		r.pix[i] = uint8(i)
	}
	return r
}

func at(r *raster, x, y int) []uint8 { return r.pix[(y*r.w+x)*r.ch : (y*r.w+x+1)*r.ch] }

func run(t *testing.T, r *raster, op imageOp) *raster {
	t.Helper()
	out, err := applyOp(context.Background(), r, op)
	if err != nil {
		t.Fatalf("%s: %v", op.op, err)
	}
	return out
}

func TestResizeFitsAsSharp(t *testing.T) {
	in := solid(80, 40, 200, 30, 30)
	cases := []struct {
		w, h         int
		fit          string
		wantW, wantH int
	}{
		{20, 0, "cover", 20, 10}, {0, 20, "cover", 40, 20}, {20, 20, "cover", 20, 20}, {20, 20, "contain", 20, 20},
		{30, 10, "fill", 30, 10}, {20, 20, "inside", 20, 10}, {20, 20, "outside", 40, 20}, {160, 160, "inside", 160, 80},
	}
	for _, c := range cases {
		out := run(t, in, imageOp{op: "resize", width: c.w, height: c.h, fit: c.fit})
		if out.w != c.wantW || out.h != c.wantH || out.ch != 3 {
			t.Errorf("resize %dx%d %s: %dx%d×%d, want %dx%d", c.w, c.h, c.fit, out.w, out.h, out.ch, c.wantW, c.wantH)
		}
		if p := at(out, out.w/2, out.h/2); p[0] != 200 || p[1] != 30 || p[2] != 30 {
			t.Errorf("resize %s: centre %v, want the image's colour", c.fit, p)
		}
	}
	// contain letterboxes on black: 80x40 into 20x20 is 20x10 in the middle.
	out := run(t, in, imageOp{op: "resize", width: 20, height: 20, fit: "contain"})
	if p := at(out, 10, 0); p[0] != 0 || p[1] != 0 || p[2] != 0 {
		t.Errorf("contain: top band %v, want black", p)
	}
	if p := at(out, 10, 19); p[0] != 0 {
		t.Errorf("contain: bottom band %v, want black", p)
	}
	// cover crops the centre: a left half black, right half white image cut to a square keeps both halves.
	half := newRaster(40, 10, 1)
	for y := 0; y < 10; y++ {
		for x := 20; x < 40; x++ {
			half.pix[y*40+x] = 255
		}
	}
	sq := run(t, half, imageOp{op: "resize", width: 10, height: 10, fit: "cover"})
	if sq.w != 10 || sq.h != 10 || sq.ch != 1 || at(sq, 0, 5)[0] > 10 || at(sq, 9, 5)[0] < 245 {
		t.Errorf("cover: %dx%d×%d, left %v right %v", sq.w, sq.h, sq.ch, at(sq, 0, 5), at(sq, 9, 5))
	}
}

func TestCropCutsAndRefusesOutside(t *testing.T) {
	in := numbered(8, 4)
	out := run(t, in, imageOp{op: "crop", left: 2, top: 1, width: 3, height: 2})
	if out.w != 3 || out.h != 2 || at(out, 0, 0)[0] != 10 || at(out, 2, 1)[0] != 20 {
		t.Fatalf("crop: %dx%d %v", out.w, out.h, out.pix)
	}
	_, err := applyOp(context.Background(), in, imageOp{op: "crop", left: 6, top: 0, width: 3, height: 2})
	var oe *opError
	if !errors.As(err, &oe) || !strings.Contains(oe.msg, "outside the 8x4 image") {
		t.Fatalf("crop outside: %v", err)
	}
}

func TestRotateQuarterTurnsExactlyAndOtherAnglesOnBlack(t *testing.T) {
	in := numbered(3, 2) // 0 1 2 / 3 4 5
	cw := run(t, in, imageOp{op: "rotate", angle: 90})
	if cw.w != 2 || cw.h != 3 || !bytes.Equal(cw.pix, []uint8{3, 0, 4, 1, 5, 2}) {
		t.Errorf("90: %dx%d %v", cw.w, cw.h, cw.pix)
	}
	if r := run(t, in, imageOp{op: "rotate", angle: 180}); !bytes.Equal(r.pix, []uint8{5, 4, 3, 2, 1, 0}) {
		t.Errorf("180: %v", r.pix)
	}
	for _, a := range []float64{270, -90} {
		if r := run(t, in, imageOp{op: "rotate", angle: a}); r.w != 2 || !bytes.Equal(r.pix, []uint8{2, 5, 1, 4, 0, 3}) {
			t.Errorf("%v: %v", a, r.pix)
		}
	}
	if r := run(t, in, imageOp{op: "rotate", angle: 360}); !bytes.Equal(r.pix, in.pix) {
		t.Errorf("360: %v", r.pix)
	}
	// 45°: a 20x20 square becomes about 29x29, corners black (RGB) or transparent (RGBA), the middle kept.
	for _, px := range [][]uint8{{255, 255, 255}, {255, 255, 255, 255}} {
		r := run(t, solid(20, 20, px...), imageOp{op: "rotate", angle: 45})
		if r.w != 29 || r.h != 29 || r.ch != len(px) {
			t.Errorf("45: %dx%d×%d", r.w, r.h, r.ch)
		}
		if c := at(r, 0, 0); c[0] != 0 || (len(px) == 4 && c[3] != 0) {
			t.Errorf("45: corner %v, want black / transparent", c)
		}
		if m := at(r, 14, 14); m[0] != 255 || (len(px) == 4 && m[3] != 255) {
			t.Errorf("45: centre %v", m)
		}
	}
}

func TestFlipDirections(t *testing.T) {
	in := numbered(3, 2)
	for dir, want := range map[string][]uint8{"vertical": {3, 4, 5, 0, 1, 2}, "horizontal": {2, 1, 0, 5, 4, 3}, "both": {5, 4, 3, 2, 1, 0}} {
		if r := run(t, in, imageOp{op: "flip", direction: dir}); !bytes.Equal(r.pix, want) {
			t.Errorf("%s: %v, want %v", dir, r.pix, want)
		}
	}
}

func TestBlurSpreadsAPointAndKeepsFlatAreas(t *testing.T) {
	point := newRaster(21, 21, 1)
	point.pix[10*21+10] = 255
	r := run(t, point, imageOp{op: "blur", sigma: 2})
	sum := 0
	for _, v := range r.pix {
		sum += int(v)
	}
	if c := at(r, 10, 10)[0]; c < 8 || c > 12 { // 255 / (2π σ²) ≈ 10
		t.Errorf("blur: centre %d, want about 10", c)
	}
	if at(r, 12, 10)[0] == 0 || at(r, 10, 10)[0] <= at(r, 12, 10)[0] || sum < 230 || sum > 280 {
		t.Errorf("blur: not a Gaussian spread: %v, sum %d", at(r, 12, 10), sum)
	}
	if f := run(t, solid(9, 5, 90, 100, 110), imageOp{op: "blur", sigma: 1000}); !bytes.Equal(f.pix, solid(9, 5, 90, 100, 110).pix) {
		t.Errorf("blur of a flat image changed it: %v", f.pix[:6])
	}
	// Transparent pixels do not bleed their colour into opaque ones (premultiplied).
	edge := solid(10, 1, 255, 0, 0, 255)
	for x := 5; x < 10; x++ {
		copy(at(edge, x, 0), []uint8{0, 0, 255, 0})
	}
	if p := at(run(t, edge, imageOp{op: "blur", sigma: 1}), 4, 0); p[0] != 255 || p[2] != 0 || p[3] == 255 || p[3] == 0 {
		t.Errorf("blur with alpha: %v, want pure red, partly transparent", p)
	}
}

func TestBlurStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := applyOp(ctx, solid(300, 300, 1, 2, 3), imageOp{op: "blur", sigma: 5}); !errors.Is(err, context.Canceled) {
		t.Fatalf("blur after cancel: %v", err)
	}
}

func TestSharpenRaisesEdgeContrastOnly(t *testing.T) {
	step := newRaster(10, 3, 1)
	for y := 0; y < 3; y++ {
		for x := 0; x < 10; x++ {
			step.pix[y*10+x] = map[bool]uint8{true: 150, false: 100}[x >= 5]
		}
	}
	r := run(t, step, imageOp{op: "sharpen", sigma: 1})
	if at(r, 4, 1)[0] >= 100 || at(r, 5, 1)[0] <= 150 || at(r, 0, 1)[0] != 100 || at(r, 9, 1)[0] != 150 {
		t.Errorf("sharpen: %v", r.pix[10:20])
	}
}

func TestToneOperations(t *testing.T) {
	in := solid(2, 2, 100, 200, 50, 128)
	if p := at(run(t, in, imageOp{op: "brightness", factor: 1.5}), 1, 1); !bytes.Equal(p, []uint8{150, 255, 75, 128}) {
		t.Errorf("brightness: %v", p)
	}
	if p := at(run(t, in, imageOp{op: "contrast", factor: 2}), 0, 0); !bytes.Equal(p, []uint8{72, 255, 0, 128}) { // 2v - 128
		t.Errorf("contrast 2: %v", p)
	}
	if p := at(run(t, in, imageOp{op: "contrast", factor: 0}), 0, 0); !bytes.Equal(p, []uint8{128, 128, 128, 128}) {
		t.Errorf("contrast 0: %v", p)
	}
	if p := at(run(t, in, imageOp{op: "saturation", factor: 0}), 0, 0); p[0] != p[1] || p[1] != p[2] || p[0] != 153 || p[3] != 128 {
		t.Errorf("saturation 0: %v, want grey 153", p) // 0.299·100 + 0.587·200 + 0.114·50
	}
	if p := at(run(t, in, imageOp{op: "saturation", factor: 2}), 0, 0); p[0] >= 100 || p[1] <= 200 {
		t.Errorf("saturation 2: %v", p)
	}
	if p := run(t, solid(1, 1, 77), imageOp{op: "saturation", factor: 3}); p.pix[0] != 77 {
		t.Errorf("saturation of grey: %v", p.pix)
	}
}

func TestGrayscaleIsOneChannel(t *testing.T) {
	g := run(t, solid(3, 3, 100, 200, 50), imageOp{op: "grayscale"})
	if g.ch != 1 || g.pix[0] != 153 {
		t.Errorf("grayscale RGB: %d channels, %v", g.ch, g.pix[:1])
	}
	ga := run(t, solid(3, 3, 100, 200, 50, 9), imageOp{op: "grayscale"})
	if ga.ch != 2 || !bytes.Equal(at(ga, 1, 1), []uint8{153, 9}) {
		t.Errorf("grayscale RGBA: %d channels, %v", ga.ch, at(ga, 1, 1))
	}
	png1, err := g.encoded("png", 0)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(png1)); err != nil || img.ColorModel() != color.GrayModel {
		t.Errorf("a grayscale PNG decodes as %T (%v), want image.Gray", img, err)
	}
}

func TestEdgeKernels(t *testing.T) {
	if r := run(t, solid(5, 5, 90), imageOp{op: "edge", kernel: "laplacian"}); r.pix[12] != 0 {
		t.Errorf("laplacian of a flat image: %d", r.pix[12])
	}
	point := newRaster(5, 5, 1)
	point.pix[12] = 20
	r := run(t, point, imageOp{op: "edge", kernel: "laplacian"})
	if r.pix[12] != 160 || r.pix[11] != 0 { // 8·20; the neighbours −20, clamped to 0
		t.Errorf("laplacian of a point: %v", r.pix[10:15])
	}
	ramp := newRaster(5, 5, 1)
	for i := range ramp.pix {
		ramp.pix[i] = uint8(10 * (i % 5))
	}
	if x := run(t, ramp, imageOp{op: "edge", kernel: "sobel_x"}); x.pix[12] != 80 { // (1+2+1)·(30−10)
		t.Errorf("sobel_x of a ramp: %d", x.pix[12])
	}
	if y := run(t, ramp, imageOp{op: "edge", kernel: "sobel_y"}); y.pix[12] != 0 {
		t.Errorf("sobel_y of a horizontal ramp: %d", y.pix[12])
	}
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeRefusesJunkBombsAndTruncation(t *testing.T) {
	good := encodePNG(t, image.NewNRGBA(image.Rect(0, 0, 200, 100)))
	for name, c := range map[string]struct {
		data  []byte
		limit int64
		want  string
	}{
		"junk":      {[]byte("this is not an image at all"), 1e8, "input.blob: not a readable image"},
		"truncated": {good[:len(good)/2], 1e8, "input.blob: not a readable image"},
		"too big":   {good, 19999, "input.blob: 200x100 is more than 19999 pixels"},
	} {
		_, _, err := decodeImage(c.data, c.limit)
		var tf *taskFailure
		if !errors.As(err, &tf) || tf.code != "BAD_INPUT" || tf.retryable || !strings.HasPrefix(tf.message, c.want) {
			t.Errorf("%s: %v, want BAD_INPUT %q", name, err, c.want)
		}
	}
	r, format, err := decodeImage(good, 20000)
	if err != nil || format != "png" || r.w != 200 || r.h != 100 || r.ch != 4 {
		t.Errorf("good: %v %s", err, format)
	}
}

func TestDecodeFormatsAndEncodeRoundTrips(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 16, 8))
	for i := range src.Pix {
		src.Pix[i] = 255
	}
	src.Pix[3] = 0 // one transparent pixel: four channels (gif.Encode's palette is opaque: three)
	var jb, gb bytes.Buffer
	if err := jpeg.Encode(&jb, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gb, src, nil); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data   []byte
		format string
		ch     int
	}{"png": {encodePNG(t, src), "png", 4}, "jpeg": {jb.Bytes(), "jpeg", 3}, "gif": {gb.Bytes(), "gif", 3}} {
		r, format, err := decodeImage(c.data, 1e8)
		if err != nil || format != c.format || r.w != 16 || r.h != 8 || r.ch != c.ch {
			t.Errorf("%s: %v %s %d channels", name, err, format, r.ch)
			continue
		}
		for _, out := range []string{"png", "jpeg"} {
			b, err := r.encoded(out, 90)
			if err != nil {
				t.Fatal(err)
			}
			cfg, got, err := image.DecodeConfig(bytes.NewReader(b))
			if err != nil || got != out || cfg.Width != 16 || cfg.Height != 8 {
				t.Errorf("%s -> %s: %v %s %dx%d", name, out, err, got, cfg.Width, cfg.Height)
			}
		}
	}
}

func TestHandlerBoundsEveryStepsPixels(t *testing.T) {
	blobs := &memBlobs{data: map[string][]byte{testBlob: encodePNG(t, image.NewGray(image.Rect(0, 0, 10, 10)))}}
	_, err := runImage(context.Background(), blobs, jsonInput(t, `{"blob":"`+testBlob+`","ops":[{"op":"resize","width":2000,"height":2000,"fit":"fill"}]}`), imageLimits{maxPixels: 1_000_000, maxBytes: 1 << 20})
	var tf *taskFailure
	if !errors.As(err, &tf) || tf.code != "BAD_INPUT" || !strings.HasPrefix(tf.message, "input.ops.0: the result, 2000x2000, is more than 1000000 pixels") {
		t.Fatalf("a step past the pixel bound: %v", err)
	}
	_, err = runImage(context.Background(), blobs, jsonInput(t, `{"blob":"`+testBlob+`","ops":[{"op":"crop","left":5,"top":5,"width":6,"height":5}]}`), imageLimits{maxPixels: 1e8, maxBytes: 1 << 20})
	if !errors.As(err, &tf) || tf.code != "BAD_INPUT" || !strings.HasPrefix(tf.message, "input.ops.0: crop 6x5+5+5 is outside the 10x10 image") {
		t.Fatalf("a crop outside: %v", err)
	}
}

// memBlobs keeps blobs in memory, for the chain tests that are not about the transfer (image_blob_test.go is).
type memBlobs struct{ data map[string][]byte }

func (m *memBlobs) fetch(_ context.Context, id string, _ int64) ([]byte, error) {
	return m.data[id], nil
}
func (m *memBlobs) put(_ context.Context, data []byte, _ string) (string, error) {
	m.data["out"] = data
	return "out", nil
}
