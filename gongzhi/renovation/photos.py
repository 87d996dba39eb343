"""Photos of a project's defects, progress, inspections and milestones, served privately (never from a public
media URL): the view checks that the file belongs to the project and that the reader may see it.

Thumbnails are made on the fly from the stored photo (already re-encoded and stripped of metadata on upload).
"""

from __future__ import annotations

import io

from django.db.models import Q
from PIL import Image

from gongzhi.core.models import Upload
from gongzhi.renovation.models import Defect, Inspection, Milestone, ProgressEntry, Project

THUMB_SIZE = (320, 240)


def defect_of_photo(project: Project, upload: Upload) -> Defect | None:
    """The project's defect this photo is the before or after photo of (None: not a defect photo)."""
    return project.defects.filter(Q(photo_before=upload) | Q(photo_after=upload)).first()


def belongs_to(project: Project, upload: Upload) -> bool:
    """Whether the photo is attached to something of the project (a defect, a progress entry, an inspection, a
    milestone): a key guessed from another project does not open it here."""
    return (
        defect_of_photo(project, upload) is not None
        or ProgressEntry.objects.filter(work_item__project=project, photo=upload).exists()
        or Inspection.objects.filter(project=project, photo=upload).exists()
        or Milestone.objects.filter(project=project, photo=upload).exists()
    )


def thumbnail(upload: Upload) -> bytes:
    """A JPEG at most THUMB_SIZE of the stored photo."""
    with upload.file.open("rb") as fh, Image.open(fh) as img:
        img = img.convert("RGB")
        img.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=80)
    return out.getvalue()
