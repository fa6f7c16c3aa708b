#!/usr/bin/env bash
# make demo: send a sample study from a sender, through the card image, to
# a receiver, on this machine, and show that every file arrived intact.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/bin"
work="$(mktemp -d "${TMPDIR:-/tmp}/imageshare-demo.XXXXXX")"
# The demo's copy of the study, its card and what arrived go when it ends,
# however it ends.
sender=
cleanup() {
	[ -n "$sender" ] && kill "$sender" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export XDG_STATE_HOME="$work/state"

sample="$PWD/../shared/dicom/ct-pancreas/CT_series"
if [ -d "$sample" ]; then
	echo "== Sample study: the Pancreas-CT-CB CT series (134 slices) from ../shared/dicom"
	echo "   Data: Hong et al. 2021, doi:10.7937/TCIA.ESHQ-4D90 (CC BY 4.0), via TCIA (Clark et al. 2013)"
else
	echo "== ../shared/dicom is absent: generating a synthetic CT study"
	sample="$work/synthetic"
	"$bin/dicomgen" -out "$sample" -series 2 -images 60 -seed 1
fi

echo
echo "== Sending hospital: sender send"
"$bin/sender" send --site "Demo General Hospital" --card "$work/card.png" \
	--listen /ip4/127.0.0.1/tcp/0 --listen /ip4/127.0.0.1/udp/0/quic-v1 \
	"$sample" >"$work/uri.txt" 2>"$work/sender.log" &
sender=$!
for _ in $(seq 1 600); do
	[ -s "$work/card.png" ] && break
	kill -0 $sender 2>/dev/null || { cat "$work/sender.log"; exit 1; }
	sleep 0.1
done
cat "$work/sender.log"
echo "   The card for the patient's phone: $work/card.png"

echo
echo "== Trauma center: receiver fetch --qr card.png"
"$bin/receiver" fetch --yes --qr "$work/card.png" --out "$work/received" | tee "$work/dir.txt"
wait $sender
sender=
echo
echo "== Sender after the receipt:"
tail -n 2 "$work/sender.log"

echo
echo "== Check: every file received is byte for byte the one sent"
received="$(cat "$work/dir.txt")"
(cd "$sample" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$work/sent.sha256"
(cd "$received" && sha256sum --quiet -c "$work/sent.sha256")
echo "   $(wc -l <"$work/sent.sha256") files identical (sha256sum -c)"
echo "   The demo's folder, with the study received and the card, is removed: $work"
