import { isPlainRich, type RichDocument } from '@securechat/sdk';
import { useEffect, useState, type FormEvent } from 'react';
import { t } from '../../strings';
import { Button } from '../../ui/Button';
import { EditorContent, FormatToolbar, useRichEditor } from './RichEditor';
import {
  EditorKeys,
  documentOf,
  editorExtensions,
  editorJsonOf,
  plainTextOf,
} from './editorSchema';

/**
 * The form that edits one of the user's messages, in the composer's editor with its
 * formatting: Enter saves, Escape cancels, Shift+Enter makes a new line. Saving nothing new
 * (or nothing at all) just closes it.
 */
export function MessageEditor({
  text,
  rich,
  onSave,
  onDone,
}: {
  text: string;
  rich: RichDocument | null;
  /** Sends the edit; answers whether it was accepted. */
  onSave: (text: string, rich: RichDocument | null) => Promise<boolean>;
  onDone: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [keys] = useState(() => new EditorKeys());
  const [extensions] = useState(() => editorExtensions({ placeholder: '', keys }));
  const editor = useRichEditor({
    extensions,
    content: editorJsonOf(rich, text),
    autofocus: true,
    attributes: {
      class: 'msg-edit-input',
      role: 'textbox',
      'aria-multiline': 'true',
      'aria-label': t.conversation.editLabel,
    },
    onChange: () => undefined,
  });

  async function save(event?: FormEvent) {
    event?.preventDefault();
    const doc = documentOf(editor.getJSON());
    const next = plainTextOf(doc);
    const nextRich = doc && !isPlainRich(doc) ? doc : null;
    if (next === '' || (next === text && JSON.stringify(nextRich) === JSON.stringify(rich))) {
      onDone();
      return;
    }
    setBusy(true);
    const saved = await onSave(next, nextRich);
    setBusy(false);
    if (saved) onDone();
  }
  useEffect(() => {
    keys.set({
      enter: () => {
        void save();
        return true;
      },
      escape: () => {
        onDone();
        return true;
      },
    });
  });

  return (
    <form className="msg-edit" onSubmit={(event) => void save(event)}>
      <FormatToolbar editor={editor} />
      <EditorContent editor={editor} />
      <div className="msg-edit-actions">
        <Button variant="ghost" className="small" onClick={onDone}>
          {t.conversation.cancel}
        </Button>
        <Button variant="primary" className="small" type="submit" busy={busy}>
          {t.conversation.save}
        </Button>
      </div>
    </form>
  );
}
