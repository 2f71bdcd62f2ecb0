package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/png"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

// blobMaster is a real ResultService on 127.0.0.1:0 serving FetchBlob / PutBlob as the
// master does (1 MiB chunks, size and type on the first; content-addressed puts).
type blobMaster struct {
	pb.UnimplementedResultServiceServer
	mu      sync.Mutex
	blobs   map[string][]byte
	puts    [][]*pb.PutBlobChunk // the chunks of every PutBlob call
	fetches []*pb.FetchBlobRequest
}

func (m *blobMaster) FetchBlob(r *pb.FetchBlobRequest, st pb.ResultService_FetchBlobServer) error {
	m.mu.Lock()
	m.fetches = append(m.fetches, r)
	data, ok := m.blobs[r.BlobId]
	m.mu.Unlock()
	if !ok {
		return status.Error(codes.NotFound, "blob "+r.BlobId+" not found")
	}
	for off := 0; off == 0 || off < len(data); off += blobChunkBytes {
		c := &pb.BlobChunk{Data: data[off:min(off+blobChunkBytes, len(data))]}
		if off == 0 {
			c.ContentType, c.Size = "image/png", uint64(len(data))
		}
		if err := st.Send(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *blobMaster) PutBlob(st pb.ResultService_PutBlobServer) error {
	var chunks []*pb.PutBlobChunk
	var all []byte
	for {
		c, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		chunks = append(chunks, c)
		all = append(all, c.Data...)
	}
	sum := sha256.Sum256(all)
	id := hex.EncodeToString(sum[:])
	m.mu.Lock()
	m.puts = append(m.puts, chunks)
	m.blobs[id] = all
	m.mu.Unlock()
	return st.SendAndClose(&pb.PutBlobResponse{BlobId: id, Size: uint64(len(all))})
}

func startBlobMaster(t *testing.T) (*blobMaster, *grpcBlobs) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &blobMaster{blobs: map[string][]byte{}}
	srv := grpc.NewServer()
	pb.RegisterResultServiceServer(srv, m)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := pb.NewResultServiceClient(conn)
	a := &pb.TaskAssignment{TaskId: "t1", Attempt: 2, ResultToken: "tok", Kind: "image"}
	return m, &grpcBlobs{client: func() pb.ResultServiceClient { return client }, a: a, worker: "w1"}
}

// noisePNG: w×h random RGB, which PNG cannot compress, so the blob spans several chunks.
func noisePNG(t *testing.T, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rnd := rand.New(rand.NewSource(1))
	for i := range img.Pix {
		img.Pix[i] = uint8(rnd.Intn(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return encodePNG(t, img)
}

func TestImageChainOverFetchBlobAndPutBlobInChunks(t *testing.T) {
	m, blobs := startBlobMaster(t)
	in := noisePNG(t, 700, 600)
	if len(in) <= blobChunkBytes { // more than one chunk each way
		t.Fatalf("test image only %d bytes", len(in))
	}
	m.blobs[testBlob] = in
	out, err := runImage(context.Background(), blobs, jsonInput(t, `{"blob":"`+testBlob+`","ops":[{"op":"flip","direction":"horizontal"},{"op":"format","format":"png"}]}`), imageLimits{maxPixels: 1e8, maxBytes: 50 << 20})
	if err != nil {
		t.Fatal(err)
	}
	res := out.(map[string]interface{})
	if len(m.fetches) != 1 || m.fetches[0].TaskId != "t1" || m.fetches[0].Attempt != 2 || m.fetches[0].WorkerId != "w1" || m.fetches[0].ResultToken != "tok" || m.fetches[0].BlobId != testBlob {
		t.Fatalf("FetchBlob requests %v", m.fetches)
	}
	if len(m.puts) != 1 || len(m.puts[0]) < 2 {
		t.Fatalf("PutBlob: %d calls, want one of several chunks (output %v bytes)", len(m.puts), res["bytes"])
	}
	first := m.puts[0][0]
	if first.TaskId != "t1" || first.Attempt != 2 || first.WorkerId != "w1" || first.ResultToken != "tok" || first.ContentType != "image/png" || len(first.Data) != blobChunkBytes {
		t.Fatalf("first PutBlob chunk: %v (%d bytes)", first.TaskId, len(first.Data))
	}
	stored := m.blobs[res["blob"].(string)]
	if res["width"] != 700 || res["height"] != 600 || res["format"] != "png" || res["content_type"] != "image/png" || res["bytes"] != len(stored) {
		t.Fatalf("output %v", res)
	}
	got, err := png.Decode(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := png.Decode(bytes.NewReader(in))
	if got.At(0, 5) != src.At(699, 5) || got.At(699, 9) != src.At(0, 9) {
		t.Fatalf("the stored output is not the input mirrored")
	}
}

func TestImageFetchIsBoundedAndRefusalsAreNotRetried(t *testing.T) {
	m, blobs := startBlobMaster(t)
	m.blobs[testBlob] = noisePNG(t, 100, 100)
	input := jsonInput(t, `{"blob":"`+testBlob+`","ops":[{"op":"grayscale"}]}`)
	_, err := runImage(context.Background(), blobs, input, imageLimits{maxPixels: 1e8, maxBytes: 1000})
	var tf *taskFailure
	if !errors.As(err, &tf) || tf.code != "BAD_INPUT" || tf.retryable || !strings.HasPrefix(tf.message, "input.blob: ") || !strings.Contains(tf.message, "more than the limit of 1000") {
		t.Fatalf("an input over the byte bound: %v", err)
	}
	delete(m.blobs, testBlob)
	_, err = runImage(context.Background(), blobs, input, imageLimits{maxPixels: 1e8, maxBytes: 1 << 20})
	if !errors.As(err, &tf) || tf.code != "BAD_INPUT" || tf.retryable || !strings.Contains(tf.message, "NotFound") {
		t.Fatalf("an unknown blob: %v", err)
	}
	if len(m.puts) != 0 {
		t.Fatalf("a failed chain stored %d outputs", len(m.puts))
	}
}

func TestImageFetchFromAGoneMasterIsRetryable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there now
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewResultServiceClient(conn)
	blobs := &grpcBlobs{client: func() pb.ResultServiceClient { return client }, a: &pb.TaskAssignment{TaskId: "t", Attempt: 1}, worker: "w"}
	_, err = runImage(context.Background(), blobs, jsonInput(t, `{"blob":"`+testBlob+`","ops":[{"op":"grayscale"}]}`), imageLimits{maxPixels: 1e8, maxBytes: 1 << 20})
	var tf *taskFailure
	if !errors.As(err, &tf) || tf.code != "PROVIDER_UNAVAILABLE" || !tf.retryable {
		t.Fatalf("master unreachable: %v", err)
	}
}
