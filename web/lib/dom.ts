type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((event: any) => unknown) | undefined>;

/** Creates an element: `on*` attributes become listeners, text is always text (never HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  el.append(
    ...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map(String2),
  );
  return el;
}

const String2 = (c: Node | string | number) => (typeof c === "number" ? String(c) : c);

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]) {
  el.replaceChildren();
  el.append(
    ...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map(String2),
  );
}

/** A form whose submit runs `action` with its fields, its button disabled meanwhile; errors go to the banner. */
export function form(
  attrs: Attrs,
  fields: Child[],
  action: (data: Record<string, string>, form: HTMLFormElement) => Promise<unknown>,
): HTMLFormElement {
  const el = h("form", attrs, ...fields);
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries([...new FormData(el)].map(([k, v]) => [k, String(v)]));
    const buttons = [...el.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    void guarded(() => action(data, el)).finally(() => buttons.forEach((b) => (b.disabled = false)));
  });
  return el;
}

let errorBanner: HTMLElement | null = null;

/** Shows an error (the server's message, already in the user's language) in the banner. */
export function showError(err: unknown) {
  errorBanner ??= document.getElementById("error");
  if (!errorBanner) return;
  const e = err as { message?: string; code?: string };
  errorBanner.textContent = e?.message || String(err);
  if (e?.code) errorBanner.dataset.code = e.code;
  errorBanner.hidden = false;
}

export function clearError() {
  errorBanner ??= document.getElementById("error");
  if (errorBanner) {
    errorBanner.hidden = true;
    errorBanner.textContent = "";
    delete errorBanner.dataset.code;
  }
}

/** Runs an action from a click or a timer: a failure is shown, never thrown into the console. */
export async function guarded<T>(action: () => Promise<T> | T): Promise<T | undefined> {
  try {
    clearError();
    return await action();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

export const button = (label: string, onClick: () => unknown, attrs: Attrs = {}) =>
  h("button", { type: "button", ...attrs, onclick: () => void guarded(async () => onClick()) }, label);

export const time = (iso: string | number) => new Date(iso).toLocaleTimeString();
