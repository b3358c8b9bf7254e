// Turns a User-Agent header into the few words a person recognises in a
// list of their sessions ("Chrome on Linux"). Order matters: most browsers
// also claim to be the ones they descend from (Edge says Chrome and Safari).

const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\bOPR\/|\bOpera\b/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\b(Firefox|FxiOS)\//, "Firefox"],
  [/\bHeadlessChrome\//, "Headless Chrome"],
  [/\b(Chrome|CriOS|Chromium)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/\biPhone\b/, "iPhone"],
  [/\biPad\b/, "iPad"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

export function describeUserAgent(userAgent: string | null | undefined): string {
  const ua = userAgent?.trim();
  if (!ua) return "Unknown device";
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  // Scripts and tools (curl/8.5.0, python-requests/2.31) name themselves first.
  const product = /^([A-Za-z][\w.-]*)\//.exec(ua)?.[1];
  if (product && product !== "Mozilla") return system ? `${product} on ${system}` : product;
  if (system) return `Browser on ${system}`;
  // A short free-form name ("latchkey CLI") already says what it is.
  return ua.length <= 40 && !ua.includes("/") ? ua : "Unknown device";
}
