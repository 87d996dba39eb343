"""renovation — 老旧小区改造: the menu residents order from (菜单/点单), projects, progress, inspections, defects, acceptance."""
