// One look for every message: a plain-text body and a simple HTML body built from the same parts (a
// greeting, paragraphs, at most one button, a closing note and the unsubscribe line), so the two never say
// different things. The words come from server/mail/messages.ts; everything inserted into HTML is escaped.

export interface MailParts {
  subject: string;
  greeting?: string;
  paragraphs: string[];
  action?: { label: string; url: string };
  /** Shown after the button, e.g. how long the link works */
  notes?: string[];
  /** Why the person gets this, and how to stop it (notices only) */
  unsubscribe?: { text: string; label: string; url: string };
}

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

export function renderMail(parts: MailParts): MailContent {
  const text: string[] = [];
  const html: string[] = [];
  if (parts.greeting) {
    text.push(parts.greeting, '');
    html.push(`<p>${escapeHtml(parts.greeting)}</p>`);
  }
  for (const p of parts.paragraphs) {
    text.push(p, '');
    html.push(`<p>${escapeHtml(p)}</p>`);
  }
  if (parts.action) {
    text.push(`${parts.action.label}:`, parts.action.url, '');
    html.push(
      `<p><a href="${escapeHtml(parts.action.url)}" style="display:inline-block;padding:10px 18px;border-radius:8px;` +
        `background:#1d4ed8;color:#ffffff;text-decoration:none;font-weight:600">${escapeHtml(parts.action.label)}</a></p>`,
      `<p style="color:#5b6475;font-size:13px">Or open this address: ${escapeHtml(parts.action.url)}</p>`,
    );
  }
  for (const n of parts.notes ?? []) {
    text.push(n, '');
    html.push(`<p style="color:#5b6475;font-size:13px">${escapeHtml(n)}</p>`);
  }
  text.push('-- ', 'Lectern');
  if (parts.unsubscribe) {
    text.push('', `${parts.unsubscribe.text} ${parts.unsubscribe.label}: ${parts.unsubscribe.url}`);
    html.push(
      `<hr style="border:none;border-top:1px solid #dde1e8"><p style="color:#5b6475;font-size:12px">` +
        `${escapeHtml(parts.unsubscribe.text)} <a href="${escapeHtml(parts.unsubscribe.url)}">${escapeHtml(parts.unsubscribe.label)}</a></p>`,
    );
  }
  return {
    subject: parts.subject,
    text: `${text.join('\n')}\n`,
    html:
      `<!doctype html><html><body style="font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;` +
      `color:#14171f;line-height:1.5;max-width:560px;margin:0 auto;padding:16px">${html.join('\n')}</body></html>`,
  };
}
