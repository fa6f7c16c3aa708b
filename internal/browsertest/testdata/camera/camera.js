'use strict';
// Opens the camera, draws its first frame on the canvas and writes the
// frame's size and the colours at its centre and near its corners into
// #result as JSON, for the Go test to read.
(async function () {
  const result = document.getElementById('result');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
    const video = document.getElementById('video');
    video.srcObject = stream;
    await video.play();
    await new Promise(resolve => video.requestVideoFrameCallback(resolve));
    const w = video.videoWidth, h = video.videoHeight;
    const canvas = document.getElementById('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d', {willReadFrequently: true});
    g.drawImage(video, 0, 0, w, h);
    const at = (fx, fy) => Array.from(g.getImageData(Math.floor(fx * w), Math.floor(fy * h), 1, 1).data.slice(0, 3));
    result.textContent = JSON.stringify({
      width: w,
      height: h,
      centre: at(0.5, 0.5),
      topLeft: at(0.05, 0.05),
      topRight: at(0.95, 0.05),
      bottomLeft: at(0.05, 0.95),
      bottomRight: at(0.95, 0.95),
    });
  } catch (e) {
    result.textContent = JSON.stringify({error: String(e)});
  }
  result.hidden = false;
})();
