// Command hpsearch-testdb is the MongoDB-compatible server our tests run against.
//
// MongoDB's own server cannot be installed on our machines, so the tests use FerretDB v1 with
// its SQLite handler (pure Go, no external database). We embed FerretDB's public
// `ferretdb` package instead of `go install`ing its cmd/ferretdb, because that binary panics at
// start-up without the generated build/version/version.txt; the embedded package skips that
// check.
//
// With -postgresql-url it serves from PostgreSQL instead (FerretDB's other v1 handler, which
// runs simple equality filters in PostgreSQL rather than decoding every document): a faster
// MongoDB-protocol server for the farm benchmarks, built by `make testdb-postgresql`. The
// tests' build leaves that handler out.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017",
		"TCP address to serve the MongoDB wire protocol on")
	stateDir := flag.String("state-dir", "hpsearch-testdb-data",
		"directory for the SQLite databases (created if missing)")
	// FerretDB logs every error reply at warn level; "error" keeps the log small in tests that
	// provoke thousands of duplicate-key errors on purpose.
	logLevel := flag.String("log-level", "error", "log level: debug, info, warn or error")
	parentPID := flag.Int("parent-pid", 0,
		"if set, shut down when this process is no longer our parent (it died)")
	postgresqlURL := flag.String("postgresql-url", "",
		"serve from this PostgreSQL database instead of SQLite files (needs a build without "+
			"the ferretdb_no_postgresql tag: make testdb-postgresql)")
	flag.Parse()

	if err := run(*listenAddr, *stateDir, *logLevel, *parentPID, *postgresqlURL); err != nil {
		fmt.Fprintln(os.Stderr, "hpsearch-testdb:", err)
		os.Exit(1)
	}
}

func run(listenAddr, stateDir, logLevel string, parentPID int, postgresqlURL string) error {
	// Catch SIGTERM/SIGINT first, so that a stop request that arrives during start-up also
	// ends in a clean shutdown rather than the default abrupt exit.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	// A test run that is killed outright cannot stop its server; without this watch the server
	// would outlive it and keep its port and files.
	if parentPID > 0 {
		go func() {
			for ctx.Err() == nil {
				if os.Getppid() != parentPID {
					stop()
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	config := &ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: listenAddr}, Logger: logger}
	if postgresqlURL != "" {
		config.Handler, config.PostgreSQLURL = "postgresql", postgresqlURL
	} else {
		// The SQLite handler wants an existing directory, as an absolute "file:" URI ending in "/".
		dir, err := filepath.Abs(stateDir)
		if err != nil {
			return err
		}
		if err = os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// Building the URI with net/url escapes unusual characters (spaces, '?', '#') in the path.
		config.Handler = "sqlite"
		config.SQLiteURL = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}).String()
	}
	f, err := ferretdb.New(config)
	if err != nil {
		return err
	}

	// Run serves until ctx is cancelled; SIGTERM/SIGINT cancel it, and Run then closes the
	// listener, the connections and the SQLite databases before returning (clean exit 0).
	logger.Info("hpsearch-testdb serving", "addr", listenAddr, "handler", config.Handler)
	err = f.Run(ctx)
	logger.Info("hpsearch-testdb stopped", "cause", context.Cause(ctx))
	return err
}
