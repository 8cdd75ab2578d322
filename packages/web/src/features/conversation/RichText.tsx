/**
 * The one renderer of rich text: a document (@securechat/sdk `RichDocument`, already through
 * the sdk's allow-list) becomes React elements, and only those listed here. No HTML is ever
 * parsed or injected; nothing of the document becomes an id, a name, a style or an event
 * handler; colours are classes from the palette; a link opens in a new tab without a referrer
 * or an opener, and shows where it really goes. See docs/decisions/0016-rich-text.md.
 */
import { safeHref, type RichBlock, type RichDocument, type RichText as Run } from '@securechat/sdk';
import type { ReactNode } from 'react';
import { t } from '../../strings';

/** What a reader should see of a link's target: the host, or the address for mailto. */
function shownTarget(href: string): string {
  const url = new URL(href);
  return url.protocol === 'mailto:' ? decodeURIComponent(url.pathname) : url.host;
}

/** Whether the text of a link already says where it goes. */
function saysTarget(text: string, href: string): boolean {
  const shown = text.trim();
  return shown === href || `${shown}/` === href || shown === shownTarget(href);
}

function Link({ href, text, children }: { href: string; text: string; children: ReactNode }) {
  // The sdk let only https, http and mailto through; checked again at the last step anyway.
  const safe = safeHref(href);
  if (!safe) return <>{children}</>;
  return (
    <>
      <a href={safe} target="_blank" rel="noopener noreferrer" title={safe}>
        {children}
      </a>
      {saysTarget(text, safe) ? null : (
        <span className="rich-link-target">
          {' '}
          {t.conversation.rich.linkTarget(shownTarget(safe))}
        </span>
      )}
    </>
  );
}

function RunView({ run }: { run: Run }) {
  const marks = run.marks;
  let node: ReactNode = run.text;
  if (!marks) return <>{node}</>;
  if (marks.code) node = <code>{node}</code>;
  if (marks.bold) node = <strong>{node}</strong>;
  if (marks.italic) node = <em>{node}</em>;
  if (marks.underline) node = <u>{node}</u>;
  if (marks.strike) node = <s>{node}</s>;
  if (marks.script === 'sup') node = <sup>{node}</sup>;
  if (marks.script === 'sub') node = <sub>{node}</sub>;
  if (marks.colour) node = <span className={`rich-colour-${marks.colour}`}>{node}</span>;
  if (marks.highlight) node = <mark className={`rich-highlight-${marks.highlight}`}>{node}</mark>;
  if (marks.link)
    node = (
      <Link href={marks.link} text={run.text}>
        {node}
      </Link>
    );
  return <>{node}</>;
}

function Inline({ runs }: { runs: readonly Run[] }) {
  // An empty line keeps its height.
  if (runs.length === 0) return <br />;
  return (
    <>
      {runs.map((run, index) => (
        <RunView key={index} run={run} />
      ))}
    </>
  );
}

function Blocks({ blocks }: { blocks: readonly RichBlock[] }) {
  return (
    <>
      {blocks.map((block, index) => {
        switch (block.type) {
          case 'paragraph':
            return (
              <p key={index}>
                <Inline runs={block.content} />
              </p>
            );
          case 'heading':
            // Styled as a heading, not one of the page's: a message has no place in its outline.
            return (
              <p key={index} className={`rich-heading rich-h${block.level}`}>
                <Inline runs={block.content} />
              </p>
            );
          case 'list': {
            const items = block.items.map((item, n) => (
              <li key={n}>
                <Blocks blocks={item} />
              </li>
            ));
            return block.ordered ? <ol key={index}>{items}</ol> : <ul key={index}>{items}</ul>;
          }
          case 'code':
            return (
              <pre key={index}>
                <code>{block.text}</code>
              </pre>
            );
          case 'quote':
            return (
              <blockquote key={index}>
                <Blocks blocks={block.content} />
              </blockquote>
            );
        }
      })}
    </>
  );
}

/** A rich text document, as elements. */
export function RichText({ doc }: { doc: RichDocument }) {
  return <Blocks blocks={doc.blocks} />;
}
