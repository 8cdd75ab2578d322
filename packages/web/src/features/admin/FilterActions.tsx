import { t } from '../../strings';
import { Button } from '../../ui/Button';

/** The end of an admin filter form: apply what was set (the form's submit), or clear it. */
export function FilterActions({ onClear }: { onClear: () => void }) {
  return (
    <div className="audit-filters-actions">
      <Button variant="primary" type="submit">
        {t.admin.apply}
      </Button>
      <Button variant="ghost" onClick={onClear}>
        {t.admin.clear}
      </Button>
    </div>
  );
}
