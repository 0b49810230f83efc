//go:build !linux

package registry

import bolt "go.etcd.io/bbolt"

func releaseMapping(*bolt.DB, int64) {}
