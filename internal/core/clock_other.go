//go:build !unix

package core

import "time"

var clockStart = time.Now()

func ktimeNs() uint64    { return uint64(time.Since(clockStart)) }
func boottimeNs() uint64 { return uint64(time.Since(clockStart)) }
