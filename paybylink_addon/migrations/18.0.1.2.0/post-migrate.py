# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Mark each link's first view (``paybylink.visit.first_view_link_id``), by which a view now
learns whether it is the first."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """UPDATE paybylink_visit
              SET first_view_link_id = link_id
            WHERE id IN (SELECT min(id) FROM paybylink_visit
                          GROUP BY link_id HAVING count(first_view_link_id) = 0)"""
    )
