package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const testBlob = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func jsonInput(t *testing.T, s string) interface{} {
	t.Helper()
	var v interface{}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestImageInputRefusesWithTheMastersFieldPaths(t *testing.T) {
	ops33 := strings.Repeat(`{"op":"grayscale"},`, 33)
	cases := map[string]string{
		`{"blob":"abc","ops":[{"op":"grayscale"}]}`:                                     "input.blob: ",
		`{"ops":[{"op":"grayscale"}]}`:                                                  "input.blob: ",
		`{"blob":"B","ops":[]}`:                                                         "input.ops: expected 1 to 32",
		`{"blob":"B","ops":[` + ops33[:len(ops33)-1] + `]}`:                             "input.ops: expected 1 to 32",
		`{"blob":"B","ops":[{"op":"grayscale"}],"x":1}`:                                 "input: unknown key(s) x",
		`{"blob":"B","ops":[{"op":"grayscale"},{"op":"warp"}]}`:                         "input.ops.1.op: unknown operation",
		`{"blob":"B","ops":[{"op":"grayscale"},7]}`:                                     "input.ops.1.op: unknown operation",
		`{"blob":"B","ops":[{"op":"blur","sigma":2,"radius":3}]}`:                       "input.ops.0.radius: unknown parameter",
		`{"blob":"B","ops":[{"op":"resize","fit":"cover"}]}`:                            "input.ops.0.width: resize needs width or height",
		`{"blob":"B","ops":[{"op":"resize","width":0}]}`:                                "input.ops.0.width: must be from 1 to 16384",
		`{"blob":"B","ops":[{"op":"resize","width":10.5}]}`:                             "input.ops.0.width: expected an integer",
		`{"blob":"B","ops":[{"op":"resize","height":16385}]}`:                           "input.ops.0.height: must be from",
		`{"blob":"B","ops":[{"op":"resize","width":10,"fit":"stretch"}]}`:               "input.ops.0.fit: expected one of cover",
		`{"blob":"B","ops":[{"op":"crop","left":0,"top":0,"width":5}]}`:                 "input.ops.0.height: required",
		`{"blob":"B","ops":[{"op":"crop","left":-1,"top":0,"width":5,"height":5}]}`:     "input.ops.0.left: must be from 0",
		`{"blob":"B","ops":[{"op":"rotate","angle":361}]}`:                              "input.ops.0.angle: must be from -360 to 360",
		`{"blob":"B","ops":[{"op":"rotate"}]}`:                                          "input.ops.0.angle: required",
		`{"blob":"B","ops":[{"op":"flip","direction":"up"}]}`:                           "input.ops.0.direction: expected one of",
		`{"blob":"B","ops":[{"op":"blur","sigma":0.1}]}`:                                "input.ops.0.sigma: must be from 0.3 to 1000",
		`{"blob":"B","ops":[{"op":"blur","sigma":"2"}]}`:                                "input.ops.0.sigma: expected a number",
		`{"blob":"B","ops":[{"op":"sharpen","sigma":11}]}`:                              "input.ops.0.sigma: must be from 0.01 to 10",
		`{"blob":"B","ops":[{"op":"brightness","factor":11}]}`:                          "input.ops.0.factor: must be from 0 to 10",
		`{"blob":"B","ops":[{"op":"contrast"}]}`:                                        "input.ops.0.factor: required",
		`{"blob":"B","ops":[{"op":"saturation","factor":true}]}`:                        "input.ops.0.factor: expected a number",
		`{"blob":"B","ops":[{"op":"edge","kernel":"prewitt"}]}`:                         "input.ops.0.kernel: expected one of laplacian, sobel_x, sobel_y",
		`{"blob":"B","ops":[{"op":"format","format":"png"},{"op":"grayscale"}]}`:        "input.ops.0.op: format must be the last operation",
		`{"blob":"B","ops":[{"op":"format","format":"bmp"}]}`:                           "input.ops.0.format: expected one of jpeg, png, webp, avif",
		`{"blob":"B","ops":[{"op":"format","format":"webp"}]}`:                          "input.ops.0.format: this worker does not write webp (it writes jpeg, png)",
		`{"blob":"B","ops":[{"op":"format","format":"avif"}]}`:                          "input.ops.0.format: this worker does not write avif",
		`{"blob":"B","ops":[{"op":"format","format":"jpeg","quality":0}]}`:              "input.ops.0.quality: must be from 1 to 100",
		`{"blob":"B","ops":[{"op":"grayscale"},{"op":"format","format":"jpeg","q":1}]}`: "input.ops.1.q: unknown parameter",
	}
	for in, want := range cases {
		_, err := parseImageInput(jsonInput(t, strings.ReplaceAll(in, `"B"`, `"`+testBlob+`"`)))
		var tf *taskFailure
		if !errors.As(err, &tf) || tf.code != "BAD_INPUT" || tf.retryable || !strings.HasPrefix(tf.message, want) {
			t.Errorf("%s: got %v, want BAD_INPUT %q...", in, err, want)
		}
	}
}

func TestImageInputFillsTheDefaults(t *testing.T) {
	task, err := parseImageInput(jsonInput(t, `{"blob":"`+testBlob+`","ops":[{"op":"resize","width":20},{"op":"flip"},{"op":"sharpen"},{"op":"edge"},{"op":"crop","left":1,"top":2,"width":3,"height":4},{"op":"format","format":"jpeg","quality":90}]}`))
	if err != nil {
		t.Fatal(err)
	}
	o := task.ops
	if task.blob != testBlob || len(o) != 6 || o[0].width != 20 || o[0].height != 0 || o[0].fit != "cover" || o[1].direction != "vertical" ||
		o[2].sigma != 1 || o[3].kernel != "laplacian" || o[4].left != 1 || o[4].top != 2 || o[4].width != 3 || o[4].height != 4 ||
		o[5].format != "jpeg" || o[5].quality != 90 {
		t.Fatalf("parsed %+v", task)
	}
}

func TestImageFeaturesAreEveryOperationAndOnlyTheWrittenFormats(t *testing.T) {
	f := strings.Join(imageFeatures(), " ")
	want := "image:format:jpeg image:format:png image:op:blur image:op:brightness image:op:contrast image:op:crop image:op:edge " +
		"image:op:flip image:op:format image:op:grayscale image:op:resize image:op:rotate image:op:saturation image:op:sharpen " +
		"image:read:gif image:read:jpeg image:read:png image:read:webp"
	if f != want {
		t.Fatalf("features %q, want %q", f, want)
	}
}
