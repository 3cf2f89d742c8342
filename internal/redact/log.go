package redact

import (
	"errors"
	"fmt"

	"github.com/go-logr/logr"
)

// Logger returns a logger writing to log's sink with every message, name,
// error and key/value redacted by Text, with the secrets that secrets (when
// not nil) returns at the time of each call. A value whose printed form
// holds no secret is passed on as it is; one that does is passed on as its
// redacted printed form.
func Logger(log logr.Logger, secrets func() []string) logr.Logger {
	sink := log.GetSink()
	if sink == nil {
		return log
	}
	if secrets == nil {
		secrets = func() []string { return nil }
	}
	return logr.New(&sinkWrapper{sink: sink, secrets: secrets})
}

type sinkWrapper struct {
	sink    logr.LogSink
	secrets func() []string
}

var _ logr.CallDepthLogSink = (*sinkWrapper)(nil)

func (s *sinkWrapper) Init(info logr.RuntimeInfo) {
	info.CallDepth++
	s.sink.Init(info)
}

func (s *sinkWrapper) Enabled(level int) bool { return s.sink.Enabled(level) }

func (s *sinkWrapper) Info(level int, msg string, kv ...any) {
	sec := s.secrets()
	s.sink.Info(level, Text(msg, sec...), values(kv, sec)...)
}

func (s *sinkWrapper) Error(err error, msg string, kv ...any) {
	sec := s.secrets()
	if err != nil {
		if r := Text(err.Error(), sec...); r != err.Error() {
			err = errors.New(r)
		}
	}
	s.sink.Error(err, Text(msg, sec...), values(kv, sec)...)
}

func (s *sinkWrapper) WithValues(kv ...any) logr.LogSink {
	return &sinkWrapper{sink: s.sink.WithValues(values(kv, s.secrets())...), secrets: s.secrets}
}

func (s *sinkWrapper) WithName(name string) logr.LogSink {
	return &sinkWrapper{sink: s.sink.WithName(name), secrets: s.secrets}
}

func (s *sinkWrapper) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.sink.(logr.CallDepthLogSink); ok {
		return &sinkWrapper{sink: cd.WithCallDepth(depth), secrets: s.secrets}
	}
	return s
}

// values redacts key/values: strings and errors by Text, other values by
// their printed form (%+v) when it holds a secret.
func values(kv []any, secrets []string) []any {
	out := make([]any, len(kv))
	for i, v := range kv {
		switch x := v.(type) {
		case nil:
			out[i] = nil
		case string:
			out[i] = Text(x, secrets...)
		case error:
			if r := Text(x.Error(), secrets...); r != x.Error() {
				out[i] = r
			} else {
				out[i] = x
			}
		default:
			p := fmt.Sprintf("%+v", x)
			if r := Text(p, secrets...); r != p {
				out[i] = r
			} else {
				out[i] = x
			}
		}
	}
	return out
}
