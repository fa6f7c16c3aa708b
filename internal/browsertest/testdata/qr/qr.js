'use strict';
// Reads the camera's frames with jsQR, as a station scanning a card does,
// until one decodes; then shows the text in #decoded, with how long it took
// from the first frame and how many frames it read.
(async function () {
  const decoded = document.getElementById('decoded');
  const error = document.getElementById('error');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: {width: {ideal: 1280}, height: {ideal: 720}}, audio: false,
    });
    const video = document.getElementById('video');
    video.srcObject = stream;
    await video.play();
    const canvas = document.getElementById('canvas');
    const g = canvas.getContext('2d', {willReadFrequently: true});
    let first = 0, frames = 0, busy = 0;
    const scan = function () {
      const w = video.videoWidth, h = video.videoHeight;
      if (first === 0) {
        first = performance.now();
      }
      frames++;
      canvas.width = w;
      canvas.height = h;
      g.drawImage(video, 0, 0, w, h);
      const start = performance.now();
      const code = jsQR(g.getImageData(0, 0, w, h).data, w, h);
      busy += performance.now() - start;
      if (code === null) {
        video.requestVideoFrameCallback(scan);
        return;
      }
      decoded.dataset.ms = Math.round(performance.now() - first);
      decoded.dataset.jsqrMs = Math.round(busy);
      decoded.dataset.frames = frames;
      decoded.dataset.size = w + 'x' + h;
      decoded.textContent = code.data;
      decoded.hidden = false;
    };
    video.requestVideoFrameCallback(scan);
  } catch (e) {
    error.textContent = String(e);
    error.hidden = false;
  }
})();
