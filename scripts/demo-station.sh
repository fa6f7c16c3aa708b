#!/usr/bin/env bash
# make demo-station: both stations on this machine, on loopback, with the
# sample study ready to send: open the sender station, give it the study's
# folder, and show the card to the receiver station's camera (or upload
# its PNG there). Ctrl-C stops both and removes the demo's folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/bin"
work="$(mktemp -d "${TMPDIR:-/tmp}/imageshare-stations.XXXXXX")"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"

sample="$(cd .. && pwd)/shared/dicom/ct-pancreas/CT_series"
if [ -d "$sample" ]; then
	echo "== Sample study: the Pancreas-CT-CB CT series (134 slices) from ../shared/dicom"
	echo "   Data: Hong et al. 2021, doi:10.7937/TCIA.ESHQ-4D90 (CC BY 4.0), via TCIA (Clark et al. 2013)"
else
	echo "== ../shared/dicom is absent: generating a synthetic CT study"
	sample="$work/synthetic"
	"$bin/dicomgen" -out "$sample" -series 2 -images 60 -seed 1
fi

sender_port=${SENDER_STATION_PORT:-7481}
receiver_port=${RECEIVER_STATION_PORT:-7480}
"$bin/sender" station --spool "$work/spool" --site "Demo General Hospital" \
	--listen "127.0.0.1:$sender_port" --json >"$work/sender.json" 2>"$work/sender.log" &
pids+=($!)
"$bin/receiver" station --out "$work/received" --listen "127.0.0.1:$receiver_port" \
	--json >"$work/receiver.json" 2>"$work/receiver.log" &
pids+=($!)

# Each prints {"type":"ready","url":…} once it listens.
url() {
	for _ in $(seq 1 100); do
		u=$(sed -n 's/.*"type":"ready".*"url":"\([^"]*\)".*/\1/p' "$1" | head -n 1)
		[ -n "$u" ] && { echo "$u"; return; }
		sleep 0.1
	done
	echo "a station did not start:" >&2
	cat "$work"/*.log >&2
	exit 1
}
sender_url=$(url "$work/sender.json")
receiver_url=$(url "$work/receiver.json")
echo
echo "== Sending hospital's station:  $sender_url"
echo "   Give it this folder (\"A folder or disc on this computer\"):"
echo "   $sample"
echo "== Trauma center's station:     $receiver_url"
echo "   Show it the card (camera), or upload the card's PNG."
echo "   Studies received go to $work/received"
echo
echo "Both stations run until Ctrl-C; the demo's folder is then removed."
wait
