package syncer

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/types"
)

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func typesUID(s string) types.UID { return types.UID(s) }
