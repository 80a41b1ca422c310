#!/bin/sh
# make-prompts.sh writes the voice prompts and tones phone callers hear
# (docs/design/14_prompts.md) into prompts/<language>/ as 16 kHz mono
# S16LE WAV files, made with espeak-ng and sox so anyone can make them
# again (`make prompts`). The file names are what the bridge asks for: keep
# them when translating. Usage: scripts/make-prompts.sh [prompts-dir]
set -eu

dir=${1:-prompts}
for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null || { echo "make-prompts: $tool is missing (apt-get install espeak-ng sox)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# say LANG VOICE NAME TEXT: speech, resampled to 16 kHz mono, 16-bit, with
# 100 ms of silence around it and the level normalised to -3 dBFS.
say() {
	mkdir -p "$dir/$1"
	espeak-ng -v "$2" -s 150 -w "$tmp/raw.wav" "$4"
	sox -D "$tmp/raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$dir/$1/$3.wav" \
		norm -3 pad 0.1 0.1
}

# tone LANG NAME FREQ... : 120 ms notes in a row, quiet (-12 dBFS) and
# short so they never cover speech; the same for every language.
tone() {
	l=$1 name=$2
	shift 2
	mkdir -p "$dir/$l"
	i=0
	for f in "$@"; do
		sox -D -n -r 16000 -c 1 -b 16 -e signed-integer "$tmp/note$i.wav" synth 0.12 sine "$f" vol -12dB fade 0.01 -0 0.01
		i=$((i + 1))
	done
	sox -D "$tmp"/note*.wav "$dir/$l/$name.wav"
	rm -f "$tmp"/note*.wav
}

lang=en voice=en-us
say $lang $voice pin-enter "Please enter the conference PIN, then press hash."
say $lang $voice pin-wrong "That PIN is not right."
say $lang $voice pin-removed "You are being removed."
say $lang $voice first-participant "You are the first participant."
say $lang $voice muted "You are muted by a moderator."
say $lang $voice unmuted "You may speak now."
say $lang $voice kicked "A moderator has removed you from this conference."
say $lang $voice room-ended "This conference has ended."
# Join: two rising notes; leave: two falling; self-mute: one low note;
# unmute: one high note.
tone $lang join-tone 660 880
tone $lang leave-tone 880 660
tone $lang self-muted 440
tone $lang self-unmuted 990
