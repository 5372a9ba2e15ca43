#!/usr/bin/env bash
# extract-frames.sh - turn anomaly-detection videos into the frames layout fmam reads.
#
# Usage: scripts/extract-frames.sh [-f] VIDEOS_DIR FRAMES_DIR
#
# Every VIDEOS_DIR/<video>.avi (also .mp4, .mov, .mkv) becomes
# FRAMES_DIR/<video>/0000.jpg, 0001.jpg, ... numbered from 0 in decoding order, one file per
# frame of the stream: frame k of the video is label index k of the published label files
# (MNAD's frame_labels_*.npy, Avenue's <n>_label.mat, ShanghaiTech's test_frame_mask). Frames are
# neither dropped nor duplicated (-fps_mode passthrough) and kept at their native size.
#
# CUHK Avenue (training_videos/01.avi, testing_videos/01.avi):
#   scripts/extract-frames.sh Avenue/training_videos avenue/training/frames
#   scripts/extract-frames.sh Avenue/testing_videos  avenue/testing/frames
# ShanghaiTech (training/videos/01_001.avi; its test set already ships as frames):
#   scripts/extract-frames.sh shanghaitech/training/videos shanghaitech/training/frames
#
# Idempotent: a video whose frame folder exists is skipped (-f re-extracts it). Each video is
# extracted into a temporary folder next to its final place and renamed when complete, so an
# interrupted run leaves no half-filled folder behind; rerun to finish.
# Needs ffmpeg (Debian: apt-get install ffmpeg).
set -euo pipefail

usage() {
	echo "usage: $0 [-f] VIDEOS_DIR FRAMES_DIR" >&2
	echo "  extracts VIDEOS_DIR/<video>.avi to FRAMES_DIR/<video>/0000.jpg, 0001.jpg, ..." >&2
	exit 2
}

force=0
while getopts "fh" opt; do
	case $opt in
	f) force=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 2 ]] || usage
src=$1
dst=$2

if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "error: ffmpeg not found in PATH; install it (Debian/Ubuntu: sudo apt-get install ffmpeg) and rerun" >&2
	exit 1
fi
if [[ ! -d $src ]]; then
	echo "error: videos folder $src not found" >&2
	exit 1
fi

shopt -s nullglob nocaseglob
videos=("$src"/*.avi "$src"/*.mp4 "$src"/*.mov "$src"/*.mkv)
shopt -u nocaseglob
if [[ ${#videos[@]} -eq 0 ]]; then
	echo "error: no .avi/.mp4/.mov/.mkv videos in $src" >&2
	exit 1
fi
mkdir -p "$dst"

# -fps_mode arrived in ffmpeg 5.1; older ones spell it -vsync.
if ffmpeg -hide_banner -h full 2>/dev/null | grep -q -- '-fps_mode'; then
	passthrough=(-fps_mode passthrough)
else
	passthrough=(-vsync passthrough)
fi

done_count=0
skip_count=0
for video in "${videos[@]}"; do
	name=$(basename "$video")
	name=${name%.*}
	out=$dst/$name
	if [[ -d $out && $force -eq 0 ]]; then
		skip_count=$((skip_count + 1))
		continue
	fi
	tmp=$(mktemp -d "$dst/.$name.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod u=rwx,go=rx "$tmp" # mktemp makes it private
	if ! ffmpeg -nostdin -hide_banner -loglevel error -i "$video" -map 0:v:0 \
		"${passthrough[@]}" -q:v 2 -start_number 0 "$tmp/%04d.jpg"; then
		echo "error: ffmpeg failed on $video" >&2
		exit 1
	fi
	frames=("$tmp"/*.jpg)
	if [[ ${#frames[@]} -eq 0 ]]; then
		echo "error: ffmpeg wrote no frames for $video" >&2
		exit 1
	fi
	rm -rf "$out"
	mv "$tmp" "$out"
	trap - EXIT
	echo "$video -> $out (${#frames[@]} frames)"
	done_count=$((done_count + 1))
done
echo "extracted $done_count videos, skipped $skip_count already present (use -f to redo) into $dst"
