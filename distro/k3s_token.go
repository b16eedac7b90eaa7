package distro

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ensureK3sToken keeps one k3s token per data dir: k3s encrypts its bootstrap data in the
// datastore with it, so a new token on every start would lock k3s out of its own data.
func ensureK3sToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "k3s-token")
	data, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(data))) > 0 {
		return strings.TrimSpace(string(data)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading k3s token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing k3s token: %w", err)
	}
	return token, nil
}
