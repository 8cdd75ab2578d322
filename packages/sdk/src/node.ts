/** @securechat/sdk/node — what only runs in Node: the conversations store in a JSON file. */
export { openFileStore } from './store/file.node.js';
