package main

// grpc-go 1.33 from Debian marshals with github.com/golang/protobuf, which in
// Debian is version 1.3 by default (golang-github-golang-protobuf-1-3-dev):
// it cannot marshal the APIv2 messages protoc-gen-go 1.28 generates. This
// codec (grpc's documented extension point) marshals with
// google.golang.org/protobuf instead, so the worker builds with either
// golang-github-golang-protobuf-1-3-dev or -1-5-dev installed.

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
)

type protoV2Codec struct{}

func (protoV2Codec) Marshal(v interface{}) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("grpc codec: %T is not a protobuf message", v)
	}
	return proto.Marshal(m)
}

func (protoV2Codec) Unmarshal(data []byte, v interface{}) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("grpc codec: %T is not a protobuf message", v)
	}
	return proto.Unmarshal(data, m)
}

func (protoV2Codec) Name() string { return "proto" }

func init() { encoding.RegisterCodec(protoV2Codec{}) }
