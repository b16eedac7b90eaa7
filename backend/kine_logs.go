package backend

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

var kineLogs = &logrusBridge{}

// routeKineLogs sends kine's logrus output into the supervisor's structured log, with every
// known secret blanked out: kine logs driver errors that may echo parts of a DSN.
func routeKineLogs(logger *slog.Logger, password string) {
	kineLogs.mu.Lock()
	kineLogs.logger = logger
	if password != "" {
		kineLogs.secrets = append(kineLogs.secrets, password)
	}
	kineLogs.mu.Unlock()
	logrus.SetOutput(kineLogs)
	logrus.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableQuote: true})
}

type logrusBridge struct {
	mu      sync.Mutex
	logger  *slog.Logger
	secrets []string
}

func (b *logrusBridge) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		msg := scrub(string(line), b.secrets...)
		level := slog.LevelInfo
		switch {
		case strings.HasPrefix(msg, "level=error"), strings.HasPrefix(msg, "level=fatal"):
			level = slog.LevelError
		case strings.HasPrefix(msg, "level=warn"):
			level = slog.LevelWarn
		case strings.HasPrefix(msg, "level=debug"), strings.HasPrefix(msg, "level=trace"):
			level = slog.LevelDebug
		}
		if i := strings.Index(msg, "msg="); i >= 0 {
			msg = msg[i+len("msg="):]
		}
		b.logger.Log(context.Background(), level, msg, "source", "kine")
	}
	return len(p), nil
}
