package main

// Task kind `image` (docs/IMAGES.md): fetch the input blob from the master
// (FetchBlob, streamed, bounded), decode it (its header's dimensions checked
// against TASKWIRE_IMAGE_MAX_PIXELS first, so a decompression bomb is never
// decoded), run the chain in order (image_ops.go), encode (png or jpeg) and
// store the output (PutBlob, 1 MiB chunks), answering {blob, bytes, width,
// height, format, content_type, ms}. A corrupt or non-image input, too many
// pixels or a crop outside the image is BAD_INPUT (not retried), never a crash.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

const (
	blobChunkBytes = 1024 * 1024
	blobDeadline   = 120 * time.Second
)

var imageContentTypes = map[string]string{"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}

// imageLimits bound what one task may hold.
type imageLimits struct {
	maxPixels int64 // width × height of the input and of every step's result
	maxBytes  int64 // the input blob (the master's TASKWIRE_MAX_BLOB_BYTES default)
}

// blobStore is the attempt's side of FetchBlob / PutBlob (the ResultService its results go to).
type blobStore interface {
	fetch(ctx context.Context, id string, maxBytes int64) ([]byte, error)
	put(ctx context.Context, data []byte, contentType string) (string, error)
}

func newImageHandler(limits imageLimits) handler {
	return func(t *attempt, input interface{}) (interface{}, error) {
		out, err := runImage(t.ctx, t.blobs(), input, limits)
		if err != nil && t.ctx.Err() != nil {
			return nil, t.aborted() // cancelled, deadline or shutdown: not the RPC's error
		}
		return out, err
	}
}

func runImage(ctx context.Context, blobs blobStore, input interface{}, limits imageLimits) (interface{}, error) {
	started := time.Now()
	task, err := parseImageInput(input)
	if err != nil {
		return nil, err
	}
	data, err := blobs.fetch(ctx, task.blob, limits.maxBytes)
	if err != nil {
		return nil, err
	}
	r, srcFormat, err := decodeImage(data, limits.maxPixels)
	if err != nil {
		return nil, err
	}
	data = nil // only the raster from here on
	for i, op := range task.ops {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		next, err := applyOp(ctx, r, op)
		var oe *opError
		if errors.As(err, &oe) {
			return nil, badField(fmt.Sprintf("ops.%d", i), oe.msg)
		}
		if err != nil {
			return nil, err
		}
		if int64(next.w)*int64(next.h) > limits.maxPixels {
			return nil, badField(fmt.Sprintf("ops.%d", i), fmt.Sprintf("the result, %dx%d, is more than %d pixels", next.w, next.h, limits.maxPixels))
		}
		r = next
	}
	format, quality := srcFormat, 0
	if last := task.ops[len(task.ops)-1]; last.op == "format" {
		format, quality = last.format, last.quality
	} else if !contains(writtenFormats, format) {
		format = "png" // gif, webp: not written here
	}
	encoded, err := r.encoded(format, quality)
	if err != nil {
		return nil, &taskFailure{"INTERNAL", "encoding " + format + ": " + err.Error(), false}
	}
	id, err := blobs.put(ctx, encoded, imageContentTypes[format])
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{
		"blob": id, "bytes": len(encoded), "width": r.w, "height": r.h, "format": format,
		"content_type": imageContentTypes[format], "ms": time.Since(started).Milliseconds(),
	}, nil
}

// decodeImage reads the header first: more than maxPixels is refused before any pixel is decoded.
func decodeImage(data []byte, maxPixels int64) (*raster, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", badField("blob", "not a readable image: "+err.Error())
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", badField("blob", fmt.Sprintf("not a readable image: %dx%d", cfg.Width, cfg.Height))
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, "", badField("blob", fmt.Sprintf("%dx%d is more than %d pixels", cfg.Width, cfg.Height, maxPixels))
	}
	img, _, err := decodeSafely(data)
	if err != nil {
		return nil, "", badField("blob", "not a readable image: "+err.Error())
	}
	r := fromImage(img)
	if format == "jpeg" {
		r = orient(r, jpegOrientation(data)) // upright first, as sharp's autoOrient (image_exif.go)
	}
	return r, format, nil
}

// decodeSafely turns a decoder panic on hostile input into an error.
func decodeSafely(data []byte) (img image.Image, format string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder failed: %v", p)
		}
	}()
	return image.Decode(bytes.NewReader(data))
}

// grpcBlobs is blobStore over the attempt's ResultService, authorised by its result token.
type grpcBlobs struct {
	client func() pb.ResultServiceClient
	a      *pb.TaskAssignment
	worker string
}

func (t *attempt) blobs() blobStore {
	return &grpcBlobs{client: func() pb.ResultServiceClient { return t.stream.r.current(10 * time.Second) }, a: t.a, worker: t.workerID}
}

// blobFailure: the master unreachable is retryable elsewhere; a refusal (not found, not this task's) is not.
func blobFailure(call string, err error) error {
	code := status.Code(err)
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return &taskFailure{"PROVIDER_UNAVAILABLE", call + ": " + code.String() + ": " + status.Convert(err).Message(), true}
	case codes.ResourceExhausted:
		return &taskFailure{"BAD_INPUT", call + ": " + status.Convert(err).Message(), false}
	}
	return &taskFailure{"BAD_INPUT", call + ": " + code.String() + ": " + status.Convert(err).Message(), false}
}

func (b *grpcBlobs) fetch(ctx context.Context, id string, maxBytes int64) ([]byte, error) {
	c := b.client()
	if c == nil {
		return nil, &taskFailure{"PROVIDER_UNAVAILABLE", "no result service to fetch the image from", true}
	}
	ctx, cancel := context.WithTimeout(ctx, blobDeadline)
	defer cancel()
	st, err := c.FetchBlob(ctx, &pb.FetchBlobRequest{TaskId: b.a.TaskId, Attempt: b.a.Attempt, WorkerId: b.worker, ResultToken: b.a.ResultToken, BlobId: id})
	if err != nil {
		return nil, blobFailure("FetchBlob "+id[:12], err)
	}
	var data []byte
	for first := true; ; first = false {
		chunk, err := st.Recv()
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, blobFailure("FetchBlob "+id[:12], err)
		}
		if first && chunk.Size > 0 {
			if chunk.Size > uint64(maxBytes) {
				return nil, badField("blob", fmt.Sprintf("%d bytes is more than the limit of %d", chunk.Size, maxBytes))
			}
			data = make([]byte, 0, chunk.Size)
		}
		if int64(len(data))+int64(len(chunk.Data)) > maxBytes {
			return nil, badField("blob", fmt.Sprintf("more than the limit of %d bytes", maxBytes))
		}
		data = append(data, chunk.Data...)
	}
}

func (b *grpcBlobs) put(ctx context.Context, data []byte, contentType string) (string, error) {
	c := b.client()
	if c == nil {
		return "", &taskFailure{"PROVIDER_UNAVAILABLE", "no result service to store the output in", true}
	}
	ctx, cancel := context.WithTimeout(ctx, blobDeadline)
	defer cancel()
	st, err := c.PutBlob(ctx)
	if err != nil {
		return "", blobFailure("PutBlob", err)
	}
	first := &pb.PutBlobChunk{TaskId: b.a.TaskId, Attempt: b.a.Attempt, WorkerId: b.worker, ResultToken: b.a.ResultToken, ContentType: contentType}
	for off := 0; off == 0 || off < len(data); off += blobChunkBytes {
		msg := &pb.PutBlobChunk{}
		if off == 0 {
			msg = first
		}
		msg.Data = data[off:min(off+blobChunkBytes, len(data))]
		if err := st.Send(msg); err != nil {
			break // io.EOF: the server ended the call; its status comes from CloseAndRecv
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return "", blobFailure("PutBlob", err)
	}
	return resp.BlobId, nil
}
