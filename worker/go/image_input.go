package main

// The `image` kind's input (docs/IMAGES.md): the rules of common/kinds/image.ts
// (the master's schema) with the same field paths in BAD_INPUT messages
// (`input.blob`, `input.ops.N.op`, `input.ops.N.<param>`), so a chain the
// master let through is refused here only for what this worker cannot do (a
// format it does not write).

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

const (
	maxImageOps  = 32
	maxImageSide = 16384
)

var (
	blobIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// The operations and their parameters; the order is the one of common/kinds/image.ts.
	imageOpNames  = []string{"resize", "crop", "rotate", "flip", "blur", "sharpen", "brightness", "contrast", "saturation", "grayscale", "edge", "format"}
	imageOpParams = map[string][]string{
		"resize": {"width", "height", "fit"}, "crop": {"left", "top", "width", "height"}, "rotate": {"angle"},
		"flip": {"direction"}, "blur": {"sigma"}, "sharpen": {"sigma"}, "brightness": {"factor"},
		"contrast": {"factor"}, "saturation": {"factor"}, "grayscale": {}, "edge": {"kernel"}, "format": {"format", "quality"},
	}
	resizeFits     = []string{"cover", "contain", "fill", "inside", "outside"}
	flipDirections = []string{"horizontal", "vertical", "both"}
	edgeKernels    = []string{"laplacian", "sobel_x", "sobel_y"}
	imageFormats   = []string{"jpeg", "png", "webp", "avif"} // every format of the kind
	// writtenFormats: what the Go standard library encodes (no webp or avif encoder).
	writtenFormats = []string{"jpeg", "png"}
)

// imageOp is one validated operation, defaults filled in.
type imageOp struct {
	op                     string
	width, height          int // resize: 0 = not given
	left, top              int
	fit, direction, kernel string
	angle, sigma, factor   float64
	format                 string
	quality                int // 0 = not given
}

// imageTask is a validated input.
type imageTask struct {
	blob string
	ops  []imageOp
}

func badField(path, msg string) error { return badInput("." + path + ": " + msg) }

func oneOf(v interface{}, has bool, path, def string, choices []string) (string, error) {
	if !has {
		return def, nil
	}
	s, ok := v.(string)
	for _, c := range choices {
		if ok && s == c {
			return s, nil
		}
	}
	return "", badField(path, "expected one of "+strings.Join(choices, ", "))
}

// number reads o[k] in [lo, hi]; when absent, def (a def below lo: required).
func number(o map[string]interface{}, k, path string, lo, hi float64, isInt bool, def float64) (float64, error) {
	v, has := o[k]
	if !has {
		if def >= lo {
			return def, nil
		}
		return 0, badField(path+"."+k, "required")
	}
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || (isInt && f != math.Trunc(f)) {
		if isInt {
			return 0, badField(path+"."+k, "expected an integer")
		}
		return 0, badField(path+"."+k, "expected a number")
	}
	if f < lo || f > hi {
		return 0, badField(path+"."+k, fmt.Sprintf("must be from %v to %v", lo, hi))
	}
	return f, nil
}

// parseImageInput validates the input as common/kinds/image.ts does.
func parseImageInput(input interface{}) (*imageTask, error) {
	m, err := object(input, "blob", "ops")
	if err != nil {
		return nil, err
	}
	blob, ok := m["blob"].(string)
	if !ok || !blobIDPattern.MatchString(blob) {
		return nil, badField("blob", "expected a blob id (sha256, 64 hex digits)")
	}
	list, ok := m["ops"].([]interface{})
	if !ok || len(list) < 1 || len(list) > maxImageOps {
		return nil, badField("ops", fmt.Sprintf("expected 1 to %d operations", maxImageOps))
	}
	task := &imageTask{blob: blob}
	for i, raw := range list {
		op, err := parseImageOp(raw, fmt.Sprintf("ops.%d", i), i == len(list)-1)
		if err != nil {
			return nil, err
		}
		task.ops = append(task.ops, op)
	}
	return task, nil
}

func parseImageOp(raw interface{}, p string, last bool) (imageOp, error) {
	var r imageOp
	o, ok := raw.(map[string]interface{})
	name, _ := o["op"].(string)
	params, known := imageOpParams[name]
	if !ok || !known {
		return r, badField(p+".op", "unknown operation (one of "+strings.Join(imageOpNames, ", ")+")")
	}
	var extra []string
	for k := range o {
		if k == "op" {
			continue
		}
		allowed := false
		for _, a := range params {
			allowed = allowed || a == k
		}
		if !allowed {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return r, badField(p+"."+extra[0], "unknown parameter")
	}
	r.op = name
	var f float64
	var err error
	switch name {
	case "resize":
		_, hasW := o["width"]
		_, hasH := o["height"]
		if !hasW && !hasH {
			return r, badField(p+".width", "resize needs width or height")
		}
		if hasW {
			if f, err = number(o, "width", p, 1, maxImageSide, true, -1); err != nil {
				return r, err
			}
			r.width = int(f)
		}
		if hasH {
			if f, err = number(o, "height", p, 1, maxImageSide, true, -1); err != nil {
				return r, err
			}
			r.height = int(f)
		}
		v, has := o["fit"]
		r.fit, err = oneOf(v, has, p+".fit", "cover", resizeFits)
	case "crop":
		if f, err = number(o, "left", p, 0, math.MaxInt32, true, -1); err != nil {
			return r, err
		}
		r.left = int(f)
		if f, err = number(o, "top", p, 0, math.MaxInt32, true, -1); err != nil {
			return r, err
		}
		r.top = int(f)
		if f, err = number(o, "width", p, 1, maxImageSide, true, -1); err != nil {
			return r, err
		}
		r.width = int(f)
		if f, err = number(o, "height", p, 1, maxImageSide, true, -1); err != nil {
			return r, err
		}
		r.height = int(f)
	case "rotate":
		r.angle, err = number(o, "angle", p, -360, 360, false, -361)
	case "flip":
		v, has := o["direction"]
		r.direction, err = oneOf(v, has, p+".direction", "vertical", flipDirections)
	case "blur":
		r.sigma, err = number(o, "sigma", p, 0.3, 1000, false, -1)
	case "sharpen":
		r.sigma, err = number(o, "sigma", p, 0.01, 10, false, 1)
	case "brightness", "contrast", "saturation":
		r.factor, err = number(o, "factor", p, 0, 10, false, -1)
	case "edge":
		v, has := o["kernel"]
		r.kernel, err = oneOf(v, has, p+".kernel", "laplacian", edgeKernels)
	case "format":
		if !last {
			return r, badField(p+".op", "format must be the last operation")
		}
		v, has := o["format"]
		if !has {
			return r, badField(p+".format", "required")
		}
		if r.format, err = oneOf(v, has, p+".format", "", imageFormats); err != nil {
			return r, err
		}
		if !contains(writtenFormats, r.format) {
			return r, badField(p+".format", "this worker does not write "+r.format+" (it writes "+strings.Join(writtenFormats, ", ")+")")
		}
		if _, has := o["quality"]; has {
			if f, err = number(o, "quality", p, 1, 100, true, -1); err != nil {
				return r, err
			}
			r.quality = int(f)
		}
	}
	return r, err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// imageFeatures is what the worker advertises in WorkerStatus.features: every
// operation, the formats it writes and the formats it reads, so the master
// never places a webp or avif chain here, nor an input it cannot decode
// (PROTOCOL.md WorkerStatus.features).
func imageFeatures() []string {
	var out []string
	for _, op := range imageOpNames {
		out = append(out, "image:op:"+op)
	}
	for _, f := range writtenFormats {
		out = append(out, "image:format:"+f)
	}
	for _, f := range readFormats {
		out = append(out, "image:read:"+f)
	}
	sort.Strings(out)
	return out
}
