package syncer

import "testing"

// The controller finds what a kind does by its interfaces: the adapter must keep them.
func TestAdaptKeepsWhatAKindDoes(t *testing.T) {
	if _, ok := adapt(persistentVolumes{}).(finalizing); !ok {
		t.Error("persistentVolumes lost finalize: a deleted virtual volume would keep its host phase")
	}
	if _, ok := adapt(configMaps{}).(finalizing); ok {
		t.Error("configMaps finalizing: a deleted ConfigMap would wait for nothing")
	}
	if _, ok := adapt(services{}).(unstructuredKind).syncedKind.(updatable); !ok {
		t.Error("services not updatable")
	}
	var _ objectKind = &pods{}
	var _ finalizing = &pods{}
	var _ updatingSubresources = &pods{}
}
