// The demo page: the sign picture follows the emulator once a second.
"use strict";

setInterval(() => {
  document.getElementById("sign").src = `/demo/sign.png?t=${Date.now()}`;
}, 1000);
