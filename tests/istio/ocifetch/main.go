// Pulls the Wasm OCI image layout through Istio's own fetcher (istio.io/istio/pkg/wasm, the code
// istio-agent runs for a WasmPlugin oci:// url): the layout is pushed to an in-memory registry
// (go-containerregistry), then fetched. Prints {"digest": ..., "sha256": <of the extracted wasm>}.
//
//	go run . <oci-layout-dir> <tag>
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"istio.io/istio/pkg/wasm"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(dir, tag string) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var img v1.Image
	for _, d := range m.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			if img, err = idx.Image(d.Digest); err != nil {
				return err
			}
		}
	}
	if img == nil {
		return fmt.Errorf("tag %s not in %s", tag, dir)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/cellauth:" + tag
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	fetch, digest, err := wasm.NewImageFetcher(context.Background(), wasm.ImageFetcherOption{Insecure: true}).PrepareFetch(ref)
	if err != nil {
		return fmt.Errorf("istio PrepareFetch: %w", err)
	}
	bin, err := fetch()
	if err != nil {
		return fmt.Errorf("istio fetch: %w", err)
	}
	sum := sha256.Sum256(bin)
	return json.NewEncoder(os.Stdout).Encode(map[string]string{"digest": digest, "sha256": hex.EncodeToString(sum[:])})
}
