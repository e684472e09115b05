#!/usr/bin/env bash
# Retake the README's screenshots from a real X window with a window manager (not offscreen
# renders, which draw at any size asked and hid a window wider than every screen).
#   docs/screenshots/take.sh            # from the project's root, after ../shared/tools/xscreen setup
# Each shot starts LearnScope as a new user would (fresh HOME, settings and runs), drives it with
# xdotool (keys and clicks at the positions the default layout gives) and grabs the screen.
set -euo pipefail
cd "$(dirname "$0")/../.."
xscreen=${XSCREEN:-../shared/tools/xscreen}
out=docs/screenshots
export XSCREEN_STATE=${XSCREEN_STATE:-/tmp/xscreen-shots}

start() {  # start SIZE [learnscope args…]: a screen of SIZE and the app on it, fresh
  local size=$1; shift
  eval "$("$xscreen" start "$size")"
  home=$(mktemp -d)
  HOME=$home XDG_CONFIG_HOME=$home/.config LEARNSCOPE_RUNS=$home/runs \
    .venv/bin/learnscope "$@" >"$home/log" 2>&1 &
  app=$!
  win=$("$xscreen" wait "LearnScope —")
  sleep 2  # the first window hands over to the main window, which settles its docks
}
stop() { kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; "$xscreen" stop >/dev/null; }
shot() { "$xscreen" shot "$out/$1" >/dev/null; echo "$out/$1"; }
train() { xdotool key --window "$win" ctrl+Return; sleep "$1"; }
click() { xdotool mousemove "$1" "$2" click 1; sleep 0.7; }

# 1280×720, a projector: the circles MLP trained, Inspect on its decision boundary
start 1280x720 --preset circles-mlp
train 9
shot training-circles.png
click 168 82; shot optimisation.png
click 254 82; shot part1.png
xdotool key F11; sleep 2
shot presentation.png
stop

# 1280×720: the practical CNN's builder and layer table
start 1280x720 --preset shapes-cnn
click 82 82; shot model-builder.png
stop

# each Inspect view as docked on a 1920×1080 screen: the dock's part of the screen
view() {  # view NAME FILE: choose NAME in the Inspect list, grab the dock
  click 1530 156
  xdotool type --delay 60 "$1"; xdotool key Return; sleep 2
  "$xscreen" shot "/tmp/xscreen-view.png" >/dev/null
  convert /tmp/xscreen-view.png -crop 425x918+1300+112 +repage "$out/$2"; echo "$out/$2"
}

# 1920×1080: the practical CNN after 40 s of CPU training, then its Inspect views
start 1920x1080 --preset shapes-cnn
train 40
shot training-cnn-1920.png
xdotool key --window "$win" space; sleep 1   # paused: every view shows the same network
view "Filters" view-filters.png
view "Feature maps" view-feature-maps.png
view "Receptive field" view-receptive-field.png
view "Confusion" view-confusion.png
view "Batch" view-batch.png
view "Layer health" view-health.png
stop

start 1920x1080 --preset circles-mlp
train 9
view "Decision boundary" view-decision-boundary.png
stop

# 1280×720: the Part 2 tab running the shapes-cnn ladder (16 epochs a rung, about 4 minutes on
# a 2-core CPU): mid-ladder at rung 5, then finished with the Results scrolled into view
start 1280x720 --preset shapes-cnn
click 278 82                         # the Part 2 tab
click 80 629; sleep 150              # Run study
shot part2-running.png
sleep 100
xdotool mousemove 150 400; for _ in $(seq 10); do xdotool click 5; done; sleep 0.5
shot part2-finished.png
stop
