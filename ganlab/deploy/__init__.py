"""Using a trained generator outside training: ONNX export (`ganlab export`) and sampling from a
run or an .onnx file (`ganlab sample`)."""
