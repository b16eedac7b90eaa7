package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// file is one entry of a layer: a directory, or a regular file whose content is src on disk or data.
type file struct {
	hdr  tar.Header
	src  string
	data []byte
}

func dir(name string, mode int64, uid, gid int) file {
	return file{hdr: tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimSuffix(name, "/") + "/", Mode: mode, Uid: uid, Gid: gid}}
}

func inline(name string, mode int64, data []byte) file {
	return file{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
}

// fromDisk is owned by root whatever the owner on disk, so the image does not depend on who built it.
func fromDisk(name string, mode int64, src string) (file, error) {
	st, err := os.Stat(src)
	if err != nil {
		return file{}, err
	}
	if !st.Mode().IsRegular() {
		return file{}, fmt.Errorf("%s is not a regular file", src)
	}
	return file{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: st.Size()}, src: src}, nil
}

// layer is an uncompressed tar streamed from its files on every read: a 100 MB binary is never
// held in memory, and nothing is gzipped (a docker-archive may hold plain tar layers, and
// compressing ~250 MB would take most of the build's time for little gain on a local import).
type layer struct {
	files  []file
	digest v1.Hash
	size   int64
}

var _ v1.Layer = (*layer)(nil)

// newLayer reads every file once to get the digest; headers carry no timestamps, so the same
// files always give the same digest.
func newLayer(files []file) (*layer, error) {
	l := &layer{files: withParents(files)}
	h := sha256.New()
	n, err := l.writeTar(h)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	l.digest, l.size = hashOf(h), n
	return l, nil
}

// withParents adds the missing parent directories (root, 0755) ahead of the entries needing them.
func withParents(files []file) []file {
	seen := map[string]bool{}
	for _, f := range files {
		if f.hdr.Typeflag == tar.TypeDir {
			seen[strings.TrimSuffix(f.hdr.Name, "/")] = true
		}
	}
	var out []file
	for _, f := range files {
		var missing []string
		for d := path.Dir(strings.TrimSuffix(f.hdr.Name, "/")); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			missing = append(missing, d)
			seen[d] = true
		}
		for i := len(missing) - 1; i >= 0; i-- {
			out = append(out, dir(missing[i], 0o755, 0, 0))
		}
		out = append(out, f)
	}
	return out
}

func (l *layer) writeTar(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	for _, f := range l.files {
		hdr := f.hdr
		hdr.ModTime = time.Unix(0, 0)
		if err := tw.WriteHeader(&hdr); err != nil {
			return 0, err
		}
		if f.src != "" {
			if err := copyFile(tw, f.src, hdr.Size); err != nil {
				return 0, err
			}
		} else if _, err := tw.Write(f.data); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// copyFile fails when src changed size since it was listed, rather than writing a broken layer.
func copyFile(w io.Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size+1))
	if err == nil && n != size {
		err = fmt.Errorf("%s changed while the image was built (%d bytes, was %d)", src, n, size)
	}
	return err
}

// Uncompressed streams the tar again and fails at the end if the bytes no longer match the
// digest (a binary rebuilt meanwhile), so a docker-archive never holds a layer its manifest lies about.
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		h := sha256.New()
		_, err := l.writeTar(io.MultiWriter(pw, h))
		if err == nil && hashOf(h) != l.digest {
			err = fmt.Errorf("layer %s: its files changed while the image was built", l.digest)
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Compressed is the plain tar too: the layer is stored uncompressed.
func (l *layer) Compressed() (io.ReadCloser, error) { return l.Uncompressed() }

// Digest is the sha256 of the tar.
func (l *layer) Digest() (v1.Hash, error) { return l.digest, nil }

// DiffID equals the digest of an uncompressed layer.
func (l *layer) DiffID() (v1.Hash, error) { return l.digest, nil }

// Size is the tar's length in bytes.
func (l *layer) Size() (int64, error) { return l.size, nil }

// MediaType makes tarball.Write store the layer as <hex>.tar.
func (l *layer) MediaType() (types.MediaType, error) { return types.DockerUncompressedLayer, nil }

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
