#!/usr/bin/env bash
# Retake the screenshots of the README and docs/app.md from a real X window with a window manager (not offscreen
# renders, which draw at any size asked and hid a window wider than every screen).
#   docs/screenshots/take.sh [SECTION…]  # from the project's root, after ../shared/tools/xscreen setup
# SECTION: pages, lab, replay, training, builder, views (default: all of them).
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

wanted() { [ -z "$sections" ] || [[ " $sections " == *" $1 "* ]]; }
sections="$*"

ladder() {  # ladder HOME: the Shapes-10 ladder at 2 epochs a rung, trained by the CLI
  HOME=$1 .venv/bin/python -m core study ladder --preset shapes-cnn --epochs 2 \
    --out "$1/runs" >/dev/null
}
choose_view() {  # choose_view NAME: the Inspect page's view, by its name in the list
  xdotool key ctrl+3; sleep 0.5
  click 500 88  # the view chooser (the timeline sits right of it)
  xdotool type --delay 60 "$1"; xdotool key Return; sleep 2
}

# every page after the Shapes-10 ladder (2 epochs a rung), rung 7 opened from the Results
# page, at a projector's 1280×720 and a laptop's 1366×768; presentation (F11) of the
# Results and confusion pages at 1280×720
if wanted pages; then
  for size in 1280x720 1366x768; do
    runs=$(mktemp -d); ladder "$runs"
    eval "$("$xscreen" start "$size")"
    HOME=$runs XDG_CONFIG_HOME=$runs/.config LEARNSCOPE_RUNS=$runs/runs \
      .venv/bin/learnscope --preset shapes-cnn >"$runs/log" 2>&1 &
    app=$!
    win=$("$xscreen" wait "LearnScope —"); sleep 3
    xdotool key ctrl+2; sleep 1; shot "page-results-$size.png"
    click 500 326; sleep 4                   # rung 7, + batch norm: the subject
    xdotool key ctrl+1; sleep 2; shot "page-train-$size.png"
    choose_view "Confusion"; shot "page-inspect-$size.png"
    xdotool key ctrl+4; sleep 1; shot "page-runs-$size.png"
    if [ "$size" = 1280x720 ]; then
      xdotool key F11; sleep 2
      xdotool key ctrl+2; sleep 2; shot presentation-results-1280x720.png
      xdotool key ctrl+3; sleep 2; shot presentation-confusion-1280x720.png
      xdotool key F11; sleep 2
      # a message while a run trains (opening another run is refused): it floats over the
      # page, the curves keep their height
      xdotool key ctrl+1; sleep 1; click 745 98  # the Train page's Epochs: a long run
      xdotool key ctrl+a; xdotool type "30"; xdotool key Tab
      xdotool key ctrl+Return; sleep 1; xdotool key ctrl+4; sleep 1
      xdotool mousemove 500 334 click --repeat 2 --delay 80 1; sleep 1  # a finished rung
      xdotool key ctrl+1; sleep 2; shot banner-while-training-1280x720.png
    fi
    stop
  done
fi

# 1280×720: the Lab page after a student's session (answers, attached figures), and the lab
# report it wrote, its pages rendered by ghostscript
if wanted lab; then
  eval "$("$xscreen" start 1280x720)"
  home=$(mktemp -d)
  HOME=$home XDG_CONFIG_HOME=$home/.config LEARNSCOPE_RUNS=$home/runs LEARNSCOPE_STUDENT=ada \
    .venv/bin/python docs/screenshots/lab_scene.py "$home/ready" "$home/lab-report.pdf" \
    >"$home/log" 2>&1 &
  app=$!
  for _ in $(seq 900); do [ -e "$home/ready" ] && break; sleep 1; done
  shot lab-page-1280x720.png
  stop
  rm -f "$out"/lab-report-page-*.png
  gs -q -dNOPAUSE -dBATCH -sDEVICE=png16m -r60 -o "$out/lab-report-page-%d.png" "$home/lab-report.pdf"
  ls "$out"/lab-report-page-*.png
fi

# 1280×720: the timeline on a finished Shapes-10 run, stepped back to epoch 3 (the curves mark
# it), and two learning rates' decision boundaries side by side
if wanted replay; then
  for scene in timeline side; do
    eval "$("$xscreen" start 1280x720)"
    home=$(mktemp -d)
    HOME=$home XDG_CONFIG_HOME=$home/.config LEARNSCOPE_RUNS=$home/runs \
      .venv/bin/python docs/screenshots/replay_scene.py "$home/ready" $scene >"$home/log" 2>&1 &
    app=$!
    for _ in $(seq 900); do [ -e "$home/ready" ] && break; sleep 1; done
    shot replay-$scene-1280x720.png
    stop
  done
fi

# 1280×720, a projector: the circles MLP trained, Inspect on its decision boundary
if wanted training; then
  start 1280x720 --preset circles-mlp
  train 9
  shot training-circles.png
  click 168 82; shot optimisation.png
  click 254 82; shot part1.png
  xdotool key F11; sleep 2
  shot presentation.png
  stop
fi

# 1280×720: the practical CNN's builder and layer table
if wanted builder; then
  start 1280x720 --preset shapes-cnn
  click 82 82; shot model-builder.png
  stop
fi

# each Inspect view on the Inspect page of a 1920×1080 screen
view() {  # view NAME FILE: choose NAME in the Inspect page's list, grab the screen
  choose_view "$1"; shot "$2"
}
if wanted views; then
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
fi
