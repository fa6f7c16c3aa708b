package card

import ("bytes";"testing";"time";"image/png")

func TestScratch3(t *testing.T) {
	uri := testURI(t, newRand(2), 265)
	t0 := time.Now()
	img, _ := drawCard(uri, sampleDetails())
	t1 := time.Now()
	var b bytes.Buffer
	png.Encode(&b, img)
	t2 := time.Now()
	im, _ := png.Decode(bytes.NewReader(b.Bytes()))
	t3 := time.Now()
	g := luminance(im)
	t4 := time.Now()
	_, err := scan(g)
	t5 := time.Now()
	t.Log("draw", t1.Sub(t0), "enc", t2.Sub(t1), "dec", t3.Sub(t2), "lum", t4.Sub(t3), "scan", t5.Sub(t4), err)
}
