package crypto

import (
	"errors"
	"strings"
)

// bech32Encode encodes data with the human-readable part hrp as BIP 173
// Bech32, uppercase when hrp is. It is the encoding age uses for its keys.
func bech32Encode(hrp string, data []byte) (string, error) {
	lower := strings.ToLower(hrp)
	if hrp != lower && hrp != strings.ToUpper(hrp) {
		return "", errors.New("mixed-case human-readable part")
	}
	values := convertBits(data, 8, 5)
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	var b strings.Builder
	b.WriteString(lower)
	b.WriteByte('1')
	for _, v := range values {
		b.WriteByte(charset[v])
	}
	for _, v := range bech32Checksum(lower, values) {
		b.WriteByte(charset[v])
	}
	if hrp != lower {
		return strings.ToUpper(b.String()), nil
	}
	return b.String(), nil
}

func convertBits(data []byte, from, to uint) []byte {
	var acc, bits uint
	var out []byte
	maxv := uint(1)<<to - 1
	for _, b := range data {
		acc = acc<<from | uint(b)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(to-bits)&maxv))
	}
	return out
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if top>>i&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func bech32Checksum(hrp string, data []byte) []byte {
	var values []byte
	for i := 0; i < len(hrp); i++ {
		values = append(values, hrp[i]>>5)
	}
	values = append(values, 0)
	for i := 0; i < len(hrp); i++ {
		values = append(values, hrp[i]&31)
	}
	values = append(values, data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(values) ^ 1
	out := make([]byte, 6)
	for i := range out {
		out[i] = byte(mod >> (5 * (5 - i)) & 31)
	}
	return out
}
