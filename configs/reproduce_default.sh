#!/usr/bin/env bash
# Reproduce the bundled default model end to end (about 5.3 h of training on 2 CPU cores).
# Run from the repository root with the train and export extras installed:
#   bash configs/reproduce_default.sh [OUT_MODEL]     (default OUT_MODEL: runs/export_default/default.onnx)
# Each stage resumes if its run folder already has last.pt; delete runs/<stage> to start it over.
set -euo pipefail
out=${1:-runs/export_default/default.onnx}
edgeseg=${EDGESEG:-edgeseg}
python=${PYTHON:-python}

stage() {   # stage CONFIG RUN_DIR
    if [ -f "$2/summary.json" ]; then echo "== $2 is done, skipping"; return; fi
    local resume=(); [ -f "$2/last.pt" ] && resume=(--resume)
    echo "== $edgeseg train --config $1 --out $2 ${resume[*]}"
    "$edgeseg" train --config "$1" --out "$2" "${resume[@]}"
}

stage configs/default.yaml runs/default                              # 1: photos, cut-outs, backgrounds
[ -d runs/pseudo/images ] || "$python" -m benchmarks.mediapipe_ref.pseudo_labels --out runs/pseudo   # teacher masks
stage configs/finetune.yaml runs/finetune                            # 2: + webcam frames, edge-weighted loss
stage configs/wide.yaml runs/wide                                    # 3: grow to 0.24 M parameters
stage configs/polish.yaml runs/polish                                # 4: warm restart, more edge weight
stage configs/multiscale.yaml runs/multiscale                        # 5: two input scales, weight EMA
stage configs/smallpeople.yaml runs/smallpeople                      # 6: + people at street-scene scale
stage configs/hires.yaml runs/hires                                  # 7: input 176x320
[ -d runs/valsets/full ] || "$python" -m benchmarks.valsets --out runs/valsets
"$python" -m export runs/hires/best.pt --out "$out" --precision fp32,fp16,int8 --calib runs/pseudo --val runs/valsets/full
