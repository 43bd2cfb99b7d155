// Command flowlens-image builds the agent's container image without Docker:
// one layer holding the static binary, an OCI manifest and config (entrypoint,
// non-root default user), written as an OCI image layout in a tar archive
// (load it with `podman load`, `skopeo copy oci-archive:...` or `ctr import`).
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	entrypoint = "/flowlens-agent"
	// The image's default user is not root; the DaemonSet runs it as uid 0
	// with three capabilities (see agent-manifests/daemonset.yaml).
	user = "65532:65532"
)

func main() {
	binary := flag.String("binary", "bin/flowlens-agent", "static agent binary to package")
	ref := flag.String("image", "flowlens-agent:dev", "image reference recorded in the archive")
	out := flag.String("out", "bin/flowlens-agent-image.tar", "OCI archive to write")
	arch := flag.String("arch", runtime.GOARCH, "architecture the binary was built for")
	flag.Parse()
	img, err := build(*binary, *arch)
	if err == nil {
		err = writeArchive(img, *ref, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flowlens-image:", err)
		os.Exit(1)
	}
	d, _ := img.Digest()
	fmt.Printf("wrote %s (%s, %s)\n", *out, *ref, d)
}

// epoch is the timestamp of every file and of the image, for reproducible builds.
var epoch = time.Unix(0, 0).UTC()

// build assembles the image from the binary at path.
func build(path, arch string) (v1.Image, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: entrypoint[1:], Mode: 0o755, Size: int64(len(bin)),
		ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read base config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: []string{entrypoint},
		User:       user,
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":       "flowlens-agent",
			"org.opencontainers.image.description": "FlowLens node agent: eBPF flow capture, flow API and OpenMetrics",
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "flowlens-image: add " + entrypoint}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	return img, nil
}

// writeArchive writes img as an OCI image layout and tars it into out.
func writeArchive(img v1.Image, ref, out string) error {
	dir, err := os.MkdirTemp("", "flowlens-image-")
	if err != nil {
		return fmt.Errorf("create layout directory: %w", err)
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("write OCI layout: %w", err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
	})); err != nil {
		return fmt.Errorf("write OCI layout: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("create archive: %w", err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	var files []string
	if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	}); err != nil {
		return fmt.Errorf("list OCI layout: %w", err)
	}
	sort.Strings(files)
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		rel, _ := filepath.Rel(dir, path)
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return f.Close()
}
