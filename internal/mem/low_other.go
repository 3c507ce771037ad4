//go:build !linux

package mem

import "errors"

func allocLow(int) ([]byte, error) {
	return nil, errors.New("memory below 4 GiB is only available on Linux")
}
