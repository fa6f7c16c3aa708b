'use strict';
console.error('deliberate console error');
throw new Error('deliberate uncaught exception');
